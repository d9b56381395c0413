"""The Jinja environments that render SQL (StrictUndefined: a typo fails, never renders empty).

greenery's own SQL renders from the package (`render`); the project's models, tests and macros
render from the project's queries/ (`project_environment`). Values still go to the engine as
bound parameters, never pasted into SQL text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from greenery_cli.resources import ENGINE_QUERIES


def _make(folder: Path) -> jinja2.Environment:
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
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateNotFound:
        from greenery_cli.errors import ModelError

        raise ModelError(f"greenery's own SQL template {template} is missing") from None
