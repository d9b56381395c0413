"""Where the project's SQL (queries/) and seeds (seeds/) live, installed or in a checkout."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def project_dir() -> Path:
    """The folder holding queries/ and seeds/.

    GREENERY_PROJECT_DIR wins (a team's own copy of the SQL and seeds); then the copy shipped
    inside the wheel; then the checkout this package sits in (editable installs, tests).
    """
    override = os.environ.get("GREENERY_PROJECT_DIR")
    if override:
        return Path(override).expanduser().resolve()
    shipped = _PACKAGE_DIR / "_project"
    if (shipped / "queries").is_dir():
        return shipped
    return _PACKAGE_DIR.parent


def queries_dir() -> Path:
    return project_dir() / "queries"


def seeds_dir() -> Path:
    return project_dir() / "seeds"
