"""What reading the project made (its models, rendered; its data tests), kept across runs.

As dbt's partial parsing does: rendering every model with Jinja and reading the test
declarations costs about a tenth of a second each time, which a nothing-changed `load` from
cron would otherwise spend deciding that nothing changed. An entry holds for exactly the bytes
it was made from: every .sql and .toml under the project's queries/, its greenery.toml, and
this greenery's own code and SQL (by size and modification time, as an install does not edit
them). Any difference, and the project is read again.

One entry per project folder, in `resources.cache_root()/parse`, replaced whole (a reader sees
the old entry or the new one). It is a pickle read back by an unpickler that builds only
the few classes of plain data a project's reading makes, paths and plain values: a planted
file cannot run code. Anything
unreadable is a miss. A project that fails to read is never remembered. Set
GREENERY_STARTUP_CACHE=off to read the project every time.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from greenery_cli import __version__
from greenery_cli.resources import cache_root

T = TypeVar("T")

_PACKAGE = Path(__file__).resolve().parent.parent
_PROJECT_SUFFIXES = (".sql", ".toml")
_CODE_SUFFIXES = (".py", ".sql")
# the only classes an entry may build: plain data, whose construction does nothing else
_KEPT = {
    ("greenery_cli.models", "Model"),
    ("greenery_cli.models", "Fingerprint"),
    ("greenery_cli.project.model_config", "ModelConfig"),
    ("greenery_cli.data_tests", "DataTest"),
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
}


def remembered(root: Path, queries: Path, part: str, compute: Callable[[], T]) -> T:
    """compute() for `part` of the project at `root` reading `queries`, or what an earlier run
    computed from the same files."""
    digest = _digest(root, queries)
    entry = _entry(root, queries)
    if digest is None or entry is None:
        return compute()
    found = _read(entry)
    if found is not None and found.get("digest") == digest and part in found:
        value: T = found[part]
        return value
    value = compute()
    kept: dict[str, Any] = {"digest": digest}
    if found is not None and found.get("digest") == digest:
        kept.update(found)
    kept[part] = value
    _write(entry, kept)
    return value


def _disabled() -> bool:
    return os.environ.get("GREENERY_STARTUP_CACHE", "").strip().lower() == "off"


def _entry(root: Path, queries: Path) -> Path | None:
    if _disabled():
        return None
    try:
        folder = cache_root() / "parse"
    except RuntimeError:  # no home folder to put it in
        return None
    name = hashlib.sha256(f"{root}\0{queries}".encode()).hexdigest()[:32]
    return folder / f"{name}.pickle"


def _files(top: Path, suffixes: tuple[str, ...]) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.join(folder, f) for f in sorted(files) if f.endswith(suffixes)]
    return found


def _digest(root: Path, queries: Path) -> str | None:
    """What the entry must have been made from; None when a file cannot be read (then reading
    the project says what is wrong)."""
    digest = hashlib.sha256(repr((__version__, str(root), str(queries))).encode())
    try:
        for path in [str(root / "greenery.toml"), *_files(queries, _PROJECT_SUFFIXES)]:
            with open(path, "rb") as file:
                data = file.read()
            digest.update(f"\0{path}\0{len(data)}\0".encode())
            digest.update(data)
        for path in _files(_PACKAGE, _CODE_SUFFIXES):
            info = os.stat(path)
            digest.update(f"\0{path}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    except OSError:
        return None
    return digest.hexdigest()


class _Unpickler(pickle.Unpickler):
    """Builds the classes in _KEPT and plain values; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _KEPT:
            raise pickle.UnpicklingError(f"{module}.{name} is not kept in the parse cache")
        return super().find_class(module, name)


def _read(entry: Path) -> dict[str, Any] | None:
    try:
        data = entry.read_bytes()
        found = _Unpickler(io.BytesIO(data)).load()
    except Exception:  # noqa: BLE001 - missing, torn, planted or from another layout: a miss
        return None
    return found if isinstance(found, dict) else None


def _write(entry: Path, parts: dict[str, Any]) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        partial = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(partial, entry)  # readers see the whole entry or none
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only home, or something that does not pickle: read the project every time
