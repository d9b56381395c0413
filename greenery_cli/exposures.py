"""Exposures: the pages and workbooks that read the warehouse, declared in queries/exposures.toml.

Declaring them puts each one at the end of its models' lineage, so `greenery models` shows what
a change to a model would reach.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from greenery_cli.errors import ModelError
from greenery_cli.resources import queries_dir

# relations greenery writes outside the models, which an exposure may read directly
OWN_SCHEMAS = ("snapshots.", "meta.")


@dataclass(frozen=True)
class Exposure:
    name: str
    owner: str
    description: str
    depends_on: tuple[str, ...]


def discover_exposures(model_names: Iterable[str], folder: Path | None = None) -> list[Exposure]:
    """Every declared exposure; each dependency must be a model or a snapshots./meta. table."""
    path = (folder or queries_dir()) / "exposures.toml"
    if not path.is_file():
        return []
    try:
        declared = tomllib.loads(path.read_text()).get("exposures", {})
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"queries/exposures.toml: {exc}") from None
    models = set(model_names)
    exposures = []
    for name, spec in declared.items():
        depends_on = tuple(spec.get("depends_on", ()))
        for dependency in depends_on:
            if dependency not in models and not dependency.startswith(OWN_SCHEMAS):
                raise ModelError(
                    f"queries/exposures.toml: exposure {name} depends on {dependency}, "
                    "which is no model (nor a snapshots. or meta. table)"
                )
        exposures.append(
            Exposure(
                name=name,
                owner=str(spec.get("owner", "")),
                description=str(spec.get("description", "")),
                depends_on=depends_on,
            )
        )
    return exposures
