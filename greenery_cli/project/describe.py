"""`greenery project`: which project is in use, where, and what it declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greenery_cli.project import FORMAT, Project, current


@dataclass(frozen=True)
class ProjectSummary:
    project: Project
    models: dict[str, list[str]]  # layer -> model names
    seeds: list[str]
    tests: int
    macros: list[str]
    exposures: list[str]

    def as_dict(self) -> dict[str, Any]:
        p = self.project
        return {
            "name": p.name,
            "root": str(p.root),
            "found": p.how,
            "builtin": p.builtin,
            "format": FORMAT,
            "description": p.description,
            "sources": [
                {
                    "name": t.name,
                    "columns": dict(t.columns),
                    "primary_key": list(t.primary_key),
                    "not_null": list(t.not_null),
                    "freshness_column": t.freshness_column,
                    "warn_after": t.freshness.warn_after,
                    "error_after": t.freshness.error_after,
                    "record_warn_after": t.freshness.record_warn_after,
                    "record_error_after": t.freshness.record_error_after,
                    "max_shrink": t.max_shrink,
                }
                for t in p.sources
            ],
            "snapshot": {
                "table": f"snapshots.{p.snapshot.table}",
                "source": p.snapshot.source,
                "unique_key": p.snapshot.unique_key,
                "check_columns": list(p.snapshot.check_columns),
                "missing": p.snapshot.missing,
                "max_deleted": p.snapshot.max_deleted,
            },
            "models": self.models,
            "seeds": self.seeds,
            "tests": self.tests,
            "macros": self.macros,
            "exposures": self.exposures,
        }


def summarise() -> ProjectSummary:
    from greenery_cli.data_tests import declared_tests
    from greenery_cli.exposures import discover_exposures
    from greenery_cli.models import LAYERS, discover
    from greenery_cli.project.templates import macro_files
    from greenery_cli.seeds import declared_seeds

    project = current()
    models = discover()
    return ProjectSummary(
        project=project,
        models={layer: [m.name for m in models.values() if m.layer == layer] for layer in LAYERS},
        seeds=[s.name for s in declared_seeds()],
        tests=len(declared_tests()),
        macros=[p.stem for p in macro_files(project.queries)],
        exposures=[e.name for e in discover_exposures(models)],
    )
