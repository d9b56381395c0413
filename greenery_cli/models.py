"""Models: Jinja-templated SELECTs in queries/<layer>/, built in dependency order.

A model names its inputs in its SQL with ref('model'), source('raw_table') and seed('seed'),
so the build order follows from the SQL itself. How it is materialised (view, table,
incremental, ephemeral) comes from greenery_cli/project/model_config.py; building is in
greenery_cli/engine/.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli.errors import ModelError
from greenery_cli.project import LAYERS
from greenery_cli.project.model_config import (
    MODEL_KEYS,
    Declared,
    ModelConfig,
    config_call_keys,
    resolve,
    schema_declarations,
)

if TYPE_CHECKING:
    import polars as pl

    from greenery_cli.engines.url import EngineSpec

__all__ = ["LAYERS", "Model", "build_order", "discover", "downstream", "select", "upstream"]

# bound parameters an incremental model's SQL reads through new_data.start / new_data.end
NEW_DATA_PARAMS = {"start": "new_data_start", "end": "new_data_end"}
_LEADING_WITH = re.compile(
    r"(\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*)with(\s+recursive)?\s", re.I | re.S
)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """What a model's build depends on besides its inputs' data: compared with its last build."""

    text: str  # the model file as written
    compiled: str  # the SQL as rendered (both variants), macros and inlined ephemerals included
    config: str  # ModelConfig.fingerprint()
    macros: dict[str, str] = field(default_factory=dict)  # macro file -> its digest

    def as_json(self) -> str:
        return json.dumps(
            {
                "text": self.text,
                "compiled": self.compiled,
                "config": self.config,
                "macros": self.macros,
            },
            sort_keys=True,
        )

    def changed_since(self, recorded: str | None) -> str | None:
        """Why a rebuild is needed compared with the recorded fingerprint, or None."""
        if not recorded:
            return "no recorded build state"
        try:
            old = json.loads(recorded)
        except ValueError:
            return "no recorded build state"
        if old.get("config") != self.config:
            return "its config changed"
        if old.get("text") != self.text:
            return "its SQL changed"
        before = old.get("macros", {})
        macros = sorted(m for m in {*self.macros, *before} if before.get(m) != self.macros.get(m))
        if macros:
            return f"macro file {', '.join(macros)} changed"
        if old.get("compiled") != self.compiled:
            return "its compiled SQL changed (an ephemeral model it reads)"
        return None


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str  # rendered SELECT of a full build, ephemeral inputs inlined as CTEs
    depends_on: tuple[str, ...]  # other models
    sources: tuple[str, ...]  # raw tables
    seeds: tuple[str, ...]
    description: str
    config: ModelConfig = ModelConfig()
    incremental_sql: str | None = None  # rendered with is_incremental() true (incremental only)
    incremental_params: tuple[str, ...] = ()  # the bound parameters incremental_sql uses
    fingerprint: Fingerprint | None = None

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def materialized(self) -> str:
        return self.config.materialized

    @property
    def in_warehouse(self) -> bool:
        """Whether the model is a relation in the warehouse (an ephemeral one is not)."""
        return self.config.materialized != "ephemeral"

    @property
    def readable(self) -> str:
        """What another query reads it as: its relation, or an ephemeral's SELECT in brackets."""
        return self.relation if self.in_warehouse else f"(\n{self.sql}\n)"


def _description(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines).strip()


def ephemeral_cte(name: str) -> str:
    return f"__ephemeral_{name}"


def with_ctes(sql: str, ctes: list[tuple[str, str]]) -> str:
    """`sql` with common table expressions put first, joining the SQL's own WITH if it has one."""
    if not ctes:
        return sql
    defined = ",\n".join(f"{name} as (\n{body}\n)" for name, body in ctes)
    leading = _LEADING_WITH.match(sql)
    if leading:
        return f"{sql[: leading.end()]}{defined},\n{sql[leading.end() :]}"
    return f"with {defined}\n{sql}"


@dataclass
class _Rendered:
    sql: str
    refs: list[str]
    sources: list[str]
    seeds: list[str]
    config: dict[str, Any] | None
    params: list[str]
    macros: set[str]


class _NewData:
    """`new_data.start` / `new_data.end` in an incremental model: bound parameters."""

    def __init__(self, where: str, active: bool, used: list[str]) -> None:
        self._where, self._active, self._used = where, active, used

    def __getattr__(self, name: str) -> str:
        if name not in NEW_DATA_PARAMS:
            raise AttributeError(name)
        if not self._active:
            raise ModelError(
                f"{self._where}: new_data.{name} is only set while is_incremental(); "
                "use it inside {% if is_incremental() %}"
            )
        self._used.append(NEW_DATA_PARAMS[name])
        return f"${NEW_DATA_PARAMS[name]}"


class _Renderer:
    def __init__(
        self, folder: Path, paths: dict[str, tuple[str, Path]], source_names: tuple[str, ...]
    ):
        self.folder, self.paths, self.source_names = folder, paths, source_names

    def render(
        self, name: str, incremental: bool, ephemeral: set[str] | frozenset[str] = frozenset()
    ) -> _Rendered:
        from greenery_cli.project.templates import render_project_sql

        layer, path = self.paths[name]
        rel = path.relative_to(self.folder)
        shown = f"queries/{rel.as_posix()}"
        out = _Rendered("", [], [], [], None, [], set())

        def ref(model: str) -> str:
            if model not in self.paths:
                raise ModelError(f"{shown}: ref('{model}') names no model")
            if LAYERS.index(self.paths[model][0]) > LAYERS.index(layer):
                raise ModelError(
                    f"{shown}: ref('{model}') reads a later layer ({self.paths[model][0]}); "
                    "data flows staging -> intermediate -> marts"
                )
            out.refs.append(model)
            return ephemeral_cte(model) if model in ephemeral else f"{self.paths[model][0]}.{model}"

        def source(table: str) -> str:
            if table not in self.source_names:
                raise ModelError(
                    f"{shown}: source('{table}') names no source declared in "
                    f"queries/sources.toml ({', '.join(self.source_names)})"
                )
            out.sources.append(table)
            return f"raw.{table}"

        def seed(seed_name: str) -> str:
            out.seeds.append(seed_name)
            return f"seeds.{seed_name}"

        def config(**kwargs: Any) -> str:
            if out.config is not None:
                raise ModelError(f"{shown}: config() is called twice; call it once")
            out.config = kwargs
            return ""

        context = {
            "ref": ref,
            "source": source,
            "seed": seed,
            "config": config,
            "is_incremental": lambda: incremental,
            "this": f"{layer}.{name}",
            "new_data": _NewData(shown, incremental, out.params),
        }
        text = path.read_text()
        out.sql = render_project_sql(self.folder, text, shown, context, used_macros=out.macros)
        out.sql = out.sql.strip().rstrip(";").strip()
        return out


def _schema_config(folder: Path, layer: str, names: set[str]) -> dict[str, Declared]:
    from greenery_cli.project.toml import TomlFile, check_keys

    path = folder / layer / "schema.toml"
    if not path.is_file():
        return {}
    file = TomlFile.read(path, f"queries/{layer}/schema.toml")
    declared: dict[str, Declared] = {}
    for model, spec in file.data.items():
        if model not in names:
            file.fail(f"[{model}] names no model in queries/{layer}/", key=model)
        if not isinstance(spec, dict):
            file.fail(f"[{model}] must be a table of keys", key=model)
        check_keys(file, spec, {"columns", "tests", *MODEL_KEYS}, f"[{model}]", model)
        found = schema_declarations(file, model, spec)
        if found is not None:
            declared[model] = found
    return declared


_discovered: dict[Path, tuple[Any, dict[str, Model]]] = {}


def discover(folder: Path | None = None) -> dict[str, Model]:
    """Every model of the project, rendered, with its declared inputs and materialisation
    (read again whenever a file under queries/ or the project's declarations change)."""
    from greenery_cli.project import current

    project = current()
    folder = folder or project.queries
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".sql", ".toml") and p.is_file())
    stamp = (id(project), tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))
    cached = _discovered.get(folder)
    if cached is None or cached[0] != stamp:
        from greenery_cli.project.parse_cache import remembered

        found = remembered(project.root, folder, "models", lambda: _discover(folder, project))
        cached = (stamp, found)
        _discovered[folder] = cached
    return dict(cached[1])


def _discover(folder: Path, project: Any) -> dict[str, Model]:
    from greenery_cli.project.templates import macro_files

    paths = {
        path.stem: (layer, path)
        for layer in LAYERS
        for path in sorted((folder / layer).glob("*.sql"))
    }
    renderer = _Renderer(folder, paths, project.source_names)
    first = {name: renderer.render(name, incremental=False) for name in paths}
    configs: dict[str, ModelConfig] = {}
    for layer in LAYERS:
        in_layer = {n for n, (lay, _) in paths.items() if lay == layer}
        from_schema = _schema_config(folder, layer, in_layer)
        for name in sorted(in_layer):
            declared = [from_schema[name]] if name in from_schema else []
            call = first[name].config
            if call is not None:
                declared.append(config_call_keys(f"queries/{layer}/{name}.sql", call))
            configs[name] = resolve(name, layer, project.model_defaults, declared)
    ephemeral = {n for n, c in configs.items() if c.materialized == "ephemeral"}
    digests = {f"queries/macros/{p.name}": _digest(p.read_text()) for p in macro_files(folder)}
    rendered: dict[str, _Rendered] = {}
    for name in paths:
        rendered[name] = (
            renderer.render(name, incremental=False, ephemeral=ephemeral)
            if set(first[name].refs) & ephemeral
            else first[name]
        )
    models: dict[str, Model] = {}
    for name, (layer, path) in paths.items():
        full = rendered[name]
        ctes = _ephemeral_ctes(name, rendered, ephemeral)
        sql = with_ctes(full.sql, ctes)
        incremental_sql: str | None = None
        params: tuple[str, ...] = ()
        macros = set(full.macros)
        if configs[name].materialized == "incremental":
            inc = renderer.render(name, incremental=True, ephemeral=ephemeral)
            unknown = set(inc.refs + inc.sources + inc.seeds) - set(
                full.refs + full.sources + full.seeds
            )
            if unknown:
                raise ModelError(
                    f"queries/{layer}/{name}.sql: inside is_incremental() it reads "
                    f"{', '.join(sorted(unknown))}, which its full build does not; an "
                    "incremental build may only read what a full build reads"
                )
            incremental_sql = with_ctes(
                inc.sql, _ephemeral_ctes(name, {**rendered, name: inc}, ephemeral)
            )
            params = tuple(dict.fromkeys(inc.params))
            macros |= inc.macros
        for cte_name, _ in ctes:
            macros |= rendered[cte_name.removeprefix("__ephemeral_")].macros
        text = path.read_text()
        models[name] = Model(
            name=name,
            layer=layer,
            path=path,
            sql=sql,
            depends_on=tuple(dict.fromkeys(full.refs)),
            sources=tuple(dict.fromkeys(full.sources)),
            seeds=tuple(dict.fromkeys(full.seeds)),
            description=_description(text),
            config=configs[name],
            incremental_sql=incremental_sql,
            incremental_params=params,
            fingerprint=Fingerprint(
                text=_digest(text),
                compiled=_digest(sql + "\0" + (incremental_sql or "")),
                config=configs[name].fingerprint(),
                macros={m: digests[m] for m in sorted(macros) if m in digests},
            ),
        )
    return models


def _ephemeral_ctes(
    name: str, rendered: dict[str, _Rendered], ephemeral: set[str]
) -> list[tuple[str, str]]:
    """The ephemeral models `name` reads (directly or through other ephemerals), inputs first."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(model: str) -> None:
        for parent in dict.fromkeys(rendered[model].refs):
            if parent in ephemeral and parent not in order:
                if parent in visiting:
                    raise ModelError(f"ephemeral models read each other in a cycle: {parent}")
                visiting.add(parent)
                visit(parent)
                order.append(parent)

    visit(name)
    return [(ephemeral_cte(m), rendered[m].sql) for m in order]


def build_order(models: dict[str, Model], selected: Iterable[str] | None = None) -> list[Model]:
    """Models in dependency order (only `selected`, if given)."""
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(
        {name: model.depends_on for name, model in models.items()}
    )
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        raise ModelError(
            f"models depend on each other in a cycle: {' -> '.join(exc.args[1])}"
        ) from None
    position = {name: i for i, name in enumerate(order)}
    # layers only read earlier layers (checked in discover), so this stays a topological order
    order.sort(key=lambda name: (LAYERS.index(models[name].layer), position[name]))
    wanted = set(selected) if selected is not None else None
    return [models[name] for name in order if wanted is None or name in wanted]


def downstream(models: dict[str, Model], name: str) -> set[str]:
    children: dict[str, set[str]] = {n: set() for n in models}
    for model in models.values():
        for parent in model.depends_on:
            children[parent].add(model.name)
    found: set[str] = set()
    stack = [name]
    while stack:
        for child in children[stack.pop()]:
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def upstream(models: dict[str, Model], name: str) -> set[str]:
    found: set[str] = set()
    stack = [name]
    while stack:
        for parent in models[stack.pop()].depends_on:
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found


def select(
    models: dict[str, Model], selectors: Iterable[str], modified: set[str] | None = None
) -> set[str]:
    """dbt-style selection (greenery_cli/engine/selection.py has the grammar)."""
    from greenery_cli.engine.selection import select as select_models

    return select_models(models, selectors, modified)


def catalogue(
    db: str | Path | None, *, wait: float = 10.0, engine: EngineSpec | None = None
) -> pl.DataFrame:
    """Every model: layer, materialisation, inputs, latest build and its last run's verdict
    (on `engine`'s run log: DuckDB's --db file by default, or a Spark Connect engine's)."""
    from greenery_cli.engine.catalogue import catalogue as model_catalogue
    from greenery_cli.engines.url import DUCKDB

    return model_catalogue(db, wait=wait, engine=engine or DUCKDB)
