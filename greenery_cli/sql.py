"""The Jinja environments that render SQL (StrictUndefined: a typo fails, never renders empty).

greenery's own SQL renders from the package (`render`); the project's models, tests and macros
render from the project's queries/ (`project_environment`). Values still go to the engine as
bound parameters, never pasted into SQL text.

`render` keeps what it rendered: in the process, and across runs in the cache folder
(`resources.cache_root()/sql`), keyed by greenery's version, the template and its context, and
checked against the size and modification time of the template and of every template it
includes or imports. A question asked again (cron, a shell loop, the benchmark) then neither
imports jinja2 nor compiles a template: together a tenth of a second of CPU per process, as
much as a small question's query. Set GREENERY_STARTUP_CACHE=off to render every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli import __version__
from greenery_cli.resources import ENGINE_QUERIES, cache_root

if TYPE_CHECKING:
    import jinja2

_PLAIN = (str, int, float, bool, type(None))
_rendered: dict[str, str] = {}  # this process's renders, by cache key


def _make(folder: Path) -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """greenery's own templates, in greenery_cli/queries/."""
    return _make(ENGINE_QUERIES)


@lru_cache(maxsize=8)
def project_environment(folder: Path) -> jinja2.Environment:
    """A project's templates: its queries/ folder (models, tests, macros)."""
    return _make(folder)


def render(template: str, **context: Any) -> str:
    """Render greenery_cli/queries/<template>."""
    key = _key(template, context)
    if key is None:
        return _render(template, context)
    if key in _rendered:
        return _rendered[key]
    text = _cached(key)
    if text is None:
        text = _render(template, context)
        _store(key, template, text)
    _rendered[key] = text
    return text


def _render(template: str, context: dict[str, Any]) -> str:
    import jinja2

    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateNotFound:
        from greenery_cli.errors import ModelError

        raise ModelError(f"greenery's own SQL template {template} is missing") from None


# --- the cache across runs ----------------------------------------------------------------


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _key(template: str, context: dict[str, Any]) -> str | None:
    """The cache key, or None when the context holds anything but plain values (whose repr
    could not stand for them)."""
    if not _plain(context):
        return None
    text = repr((__version__, str(ENGINE_QUERIES), template, sorted(context.items())))
    return hashlib.sha256(text.encode()).hexdigest()


def _folder() -> Path | None:
    if os.environ.get("GREENERY_STARTUP_CACHE", "").strip().lower() == "off":
        return None
    try:
        return cache_root() / "sql"
    except RuntimeError:  # no home folder to put it in
        return None


def _stamp(name: str) -> list[int] | None:
    try:
        info = (ENGINE_QUERIES / name).stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _cached(key: str) -> str | None:
    folder = _folder()
    if folder is None:
        return None
    try:
        entry = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
        if all(_stamp(name) == stamp for name, stamp in entry["files"].items()):
            return str(entry["sql"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # missing, unreadable or from another layout: render again
    return None


def _store(key: str, template: str, text: str) -> None:
    folder = _folder()
    names = _dependencies(template)
    if folder is None or names is None:
        return
    files = {name: _stamp(name) for name in names}
    if any(stamp is None for stamp in files.values()):
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{key}.{os.getpid()}.tmp"
        partial.write_text(json.dumps({"files": files, "sql": text}), encoding="utf-8")
        os.replace(partial, folder / f"{key}.json")  # readers see the whole entry or none
    except OSError:
        pass  # a read-only home: rendering every time is still right


def _dependencies(template: str) -> set[str] | None:
    """The template and every template it includes or imports, transitively; None when one of
    them names its template at run time (then the cache cannot know what to check)."""
    from jinja2 import meta

    env = environment()
    seen: set[str] = set()
    todo = [template]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert env.loader is not None
        source = env.loader.get_source(env, name)[0]
        for found in meta.find_referenced_templates(env.parse(source)):
            if found is None:
                return None
            todo.append(found)
    return seen
