"""Seeds: small reference CSVs in seeds/, typed by seeds/seeds.toml, loaded into seeds.*."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path
from typing import NamedTuple

from greenery_cli.errors import DataError, UsageError
from greenery_cli.resources import seeds_dir
from greenery_cli.warehouse import Warehouse


class Seed(NamedTuple):
    name: str
    path: Path
    columns: dict[str, str]
    primary_key: tuple[str, ...]
    description: str


def declared_seeds(folder: Path | None = None) -> list[Seed]:
    folder = folder or seeds_dir()
    config_path = folder / "seeds.toml"
    try:
        config = tomllib.loads(config_path.read_text())
    except FileNotFoundError:
        raise UsageError(
            f"{config_path} is missing: every seed declares its column types there"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{config_path}: {exc}") from None
    seeds = []
    for name, spec in config.items():
        path = folder / f"{name}.csv"
        if not path.is_file():
            raise UsageError(f"{config_path} declares seed {name} but {path} does not exist")
        seeds.append(
            Seed(
                name=name,
                path=path,
                columns=dict(spec["columns"]),
                primary_key=tuple(spec.get("primary_key", ())),
                description=spec.get("description", ""),
            )
        )
    undeclared = sorted(p.stem for p in folder.glob("*.csv") if p.stem not in config)
    if undeclared:
        raise UsageError(
            f"{config_path}: seed file(s) {', '.join(undeclared)} have no declared types"
        )
    return seeds


def load_seeds(wh: Warehouse, seeds: list[Seed] | None = None) -> dict[str, int]:
    """Load every seed into seeds.<name>; raise DataError naming file, line and column."""
    import duckdb

    from greenery_cli.sources.files import _CSV_OPTIONS, _sql_literal, _struct

    counts = {}
    for seed in seeds if seeds is not None else declared_seeds():
        with seed.path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
        if header != list(seed.columns):
            raise DataError(
                f"{seed.path}: header {header} does not match the declared columns "
                f"{list(seed.columns)} in seeds.toml"
            )
        try:
            reader = (
                f"read_csv({_sql_literal(str(seed.path))}, {_CSV_OPTIONS}, "
                f"columns = {_struct(seed.columns)})"
            )
            wh.execute(f"create or replace table seeds.{seed.name} as select * from {reader}")
        except duckdb.Error as exc:
            raise DataError(f"{seed.path}: {str(exc).splitlines()[0]}") from None
        if seed.primary_key:
            key = ", ".join(seed.primary_key)
            dupes = wh.rows(
                f"select {key} from seeds.{seed.name} group by all having count(*) > 1 limit 5"
            )
            if dupes:
                raise DataError(f"{seed.path}: duplicate {key}: {dupes}")
        counts[seed.name] = int(wh.scalar(f"select count(*) from seeds.{seed.name}"))
    return counts
