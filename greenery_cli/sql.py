"""The one Jinja environment that renders greenery's SQL (StrictUndefined: a typo fails)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from greenery_cli.resources import queries_dir


@lru_cache(maxsize=4)
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def environment() -> jinja2.Environment:
    return _environment(queries_dir())


def render(template: str, **context: Any) -> str:
    """Render queries/<template>; values still go to DuckDB as bound parameters."""
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateNotFound:
        from greenery_cli.errors import ModelError

        raise ModelError(f"no SQL template queries/{template}") from None
