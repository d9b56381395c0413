"""Reading the project's TOML files so that every complaint names the file and its line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from greenery_cli.errors import UsageError

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


class TomlFile(NamedTuple):
    path: Path
    shown: str  # how messages name it
    text: str
    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path, shown: str | None = None) -> TomlFile:
        shown = shown or str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{shown} is missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{shown}: cannot read it: {exc}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            at = _AT_LINE.search(message)
            reason = _AT_LINE.sub("", message).strip()
            line = f" line {at.group(1)}" if at else ""
            raise UsageError(f"{shown}{line}: not valid TOML: {reason}") from None
        return cls(path, shown, text, data)

    def line_of(self, key: str | None) -> int | None:
        """The first line declaring `key` (as a key or a [table] header), if it can be found."""
        if not key:
            return None
        pattern = re.compile(
            rf"^\s*(\[+\s*([\w.\"' -]*\.)?[\"']?{re.escape(key)}[\"']?\s*\]+"
            rf"|[\"']?{re.escape(key)}[\"']?\s*=)",
            re.MULTILINE,
        )
        found = pattern.search(self.text)
        return self.text.count("\n", 0, found.start()) + 1 if found else None

    def fail(self, message: str, key: str | None = None) -> NoReturn:
        line = self.line_of(key)
        raise UsageError(f"{self.shown}{f' line {line}' if line else ''}: {message}")


def check_keys(
    file: TomlFile, spec: dict[str, Any], known: Iterable[str], where: str, near: str
) -> None:
    """Refuse keys greenery does not understand (a typo, or a declaration from another version)."""
    unknown = sorted(set(spec) - set(known))
    if unknown:
        file.fail(
            f"{where}: unknown key(s) {', '.join(unknown)}; greenery understands "
            f"{', '.join(sorted(known))}",
            key=unknown[0] if unknown else near,
        )


def identifier(file: TomlFile, value: Any, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        file.fail(f"{what} {value!r} is not a plain name (letters, digits, _)", key=str(value))
    return value


def string_list(file: TomlFile, value: Any, what: str, near: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        file.fail(f"{what} must be a list of names", key=near)
    return list(value)
