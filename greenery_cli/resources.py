"""Where things live: greenery's own SQL in the package, the team's files in the project."""

from __future__ import annotations

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
