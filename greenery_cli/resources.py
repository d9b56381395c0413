"""Where things live: greenery's own SQL in the package, the team's files in the project."""

from __future__ import annotations

import os
from pathlib import Path

ENGINE_QUERIES = Path(__file__).resolve().parent / "queries"


def engine_queries_dir() -> Path:
    """greenery's own SQL (snapshot engine, questions, meta tables, generator, templates)."""
    return ENGINE_QUERIES


def queries_dir() -> Path:
    """The project's queries/: models, their schema.toml, singular tests, macros, sources."""
    from greenery_cli.project import current

    return current().queries


def seeds_dir() -> Path:
    """The project's seeds/."""
    from greenery_cli.project import current

    return current().seeds


def cache_root() -> Path:
    """greenery's cache (samples, rendered SQL): GREENERY_CACHE_DIR, XDG_CACHE_HOME/greenery,
    ~/.cache/greenery."""
    explicit = os.environ.get("GREENERY_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "greenery"
