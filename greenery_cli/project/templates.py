"""Rendering the project's SQL (models, singular tests) with its macros in scope.

Every file in queries/macros/ is a Jinja file of `{% macro name(...) %}` blocks; each macro is
usable by name in every model and test, with the same ref/source/seed as the file calling it.
A macro may call the macros of its own file and of files that sort before it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from greenery_cli.errors import GreeneryError, ModelError

RESERVED = ("ref", "source", "seed", "snapshot", "config", "is_incremental", "this", "new_data")


def macro_files(queries: Path) -> list[Path]:
    return sorted((queries / "macros").glob("*.sql"))


def _where(shown: str, exc: Exception) -> str:
    import jinja2

    line = getattr(exc, "lineno", None)
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        shown = f"queries/{Path(exc.filename).name}" if "macros" not in exc.filename else shown
    return f"{shown}{f' line {line}' if line else ''}"


@lru_cache(maxsize=1024)
def _compiled(queries: Path, text: str) -> Any:
    """A project file's template, compiled once per process (discovery renders each model
    several times, and load and test discover the same files)."""
    from greenery_cli.sql import project_environment

    return project_environment(queries).from_string(text)


def _recorded(macro: Any, where: str, used: set[str]) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        used.add(where)
        return macro(*args, **kwargs)

    return call


def render_project_sql(
    queries: Path,
    text: str,
    shown: str,
    context: dict[str, Any],
    error: type[GreeneryError] = ModelError,
    used_macros: set[str] | None = None,
) -> str:
    """Render one project file's text with `context` and every macro of the project.

    `used_macros`, if given, collects the macro files (queries/macros/<name>) whose macros the
    rendering called: a model's build state includes them."""
    import jinja2

    from greenery_cli.sql import project_environment

    env = project_environment(queries)
    scope = dict(context)
    for path in macro_files(queries):
        where = f"queries/macros/{path.name}"
        try:
            module = env.get_template(f"macros/{path.name}").make_module(vars=scope)
        except jinja2.TemplateError as exc:
            raise error(f"{_where(where, exc)}: {exc.message or exc}") from None
        for name in dir(module):
            macro = getattr(module, name)
            if name.startswith("_") or not isinstance(macro, jinja2.runtime.Macro):
                continue
            if name in RESERVED:
                raise error(f"{where}: a macro may not be named {name} (greenery's own)")
            scope[name] = macro if used_macros is None else _recorded(macro, where, used_macros)
    try:
        return _compiled(queries, text).render(**scope)
    except GreeneryError:
        raise
    except jinja2.TemplateError as exc:
        raise error(f"{_where(shown, exc)}: {exc.message or exc}") from None
    except Exception as exc:  # a macro's own failure: name the file calling it
        raise error(f"{shown}: {exc}") from None
