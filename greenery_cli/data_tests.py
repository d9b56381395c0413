"""Data tests declared beside the models: what they are and where they come from.

Generic tests (unique, not_null, accepted_values, relationships) are declared per model in
queries/<layer>/schema.toml and rendered from queries/tests/generic/<kind>.sql; singular tests
are queries/tests/*.sql. Either way a test is a query whose rows are failures. Running them is
in greenery_cli/test_run.py.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenery_cli.errors import UsageError
from greenery_cli.models import LAYERS, Model, discover, select
from greenery_cli.project.model_config import MODEL_KEYS
from greenery_cli.resources import queries_dir

GENERIC_KINDS = ("unique", "not_null", "accepted_values", "relationships")
SEVERITIES = ("error", "warn")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RELATION = re.compile(r"(raw|seeds|staging|intermediate|marts|snapshots)\.[A-Za-z_][A-Za-z0-9_]*")
_KEYS = {
    "test",
    "column",
    "name",
    "severity",
    "reason",
    "where",
    "values",
    "to",
    "field",
}


@dataclass(frozen=True)
class DataTest:
    name: str
    kind: str  # a generic kind or "singular"
    target: str | None  # the relation it tests
    column: str | None
    severity: str
    reason: str | None
    sql: str  # the failing-rows query
    declared_in: str  # queries/<...> file, for messages
    params: dict[str, Any] = field(default_factory=dict)
    models: tuple[str, ...] = ()  # models it reads, for --select
    relations: tuple[str, ...] = ()  # every relation it reads; a missing one skips or errors
    description: str = ""


def _identifier(value: Any, what: str, where: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise UsageError(f"{where}: {what} {value!r} is not a column name")
    return value


def _generic(spec: dict[str, Any], model: Model, models: dict[str, Model], where: str) -> DataTest:
    from greenery_cli.sql import render

    if not isinstance(spec, dict):
        raise UsageError(f"{where}: a test is a table of keys (test, column, ...)")
    for key in ("name", "reason", "where", "to", "field"):
        if key in spec and not isinstance(spec[key], str):
            raise UsageError(f"{where}: {key} must be text")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {sorted(_KEYS)})")
    kind = spec.get("test")
    if kind not in GENERIC_KINDS:
        raise UsageError(f"{where}: test {kind!r} is not one of {', '.join(GENERIC_KINDS)}")
    column = _identifier(spec.get("column"), "column", where)
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise UsageError(f"{where}: severity {severity!r} is not error or warn")
    if severity == "warn" and not spec.get("reason"):
        raise UsageError(f"{where}: a warn-severity test needs a one-line reason")
    context: dict[str, Any] = {
        "relation": model.readable,  # an ephemeral model is tested as its inlined SELECT
        "column": column,
        "where": spec.get("where"),
    }
    params: dict[str, Any] = {}
    reads = [model.name]
    relations = [model.relation] if model.in_warehouse else []
    name = f"{kind}_{model.name}_{column}"
    if kind == "accepted_values":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise UsageError(f"{where}: accepted_values needs values = [...]")
        params["accepted_values"] = [str(v) for v in values]
    if kind == "relationships":
        parent = spec.get("to")
        if isinstance(parent, str) and parent in models:
            reads.append(parent)
            context["parent"] = models[parent].readable
            if models[parent].in_warehouse:
                relations.append(models[parent].relation)
        elif isinstance(parent, str) and _RELATION.fullmatch(parent):
            context["parent"] = parent
            relations.append(parent)
        else:
            raise UsageError(f"{where}: relationships to {parent!r} names no model or schema.table")
        context["field"] = _identifier(spec.get("field", column), "field", where)
        name += f"__{parent.split('.')[-1]}"
    return DataTest(
        name=spec.get("name") or name,
        kind=kind,
        target=model.relation,
        column=column,
        severity=severity,
        reason=spec.get("reason"),
        sql=render(f"tests/generic/{kind}.sql", **context),
        declared_in=where.split(",")[0],
        params=params,
        models=tuple(reads),
        relations=tuple(relations),
        description=spec.get("reason") or f"{kind} on {model.name}.{column}",
    )


def generic_tests(models: dict[str, Model], folder: Path) -> list[DataTest]:
    tests = []
    for layer in LAYERS:
        path = folder / layer / "schema.toml"
        if not path.is_file():
            continue
        shown = f"queries/{layer}/schema.toml"
        try:
            declared = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{shown}: {exc}") from None
        for model_name, spec in declared.items():
            model = models.get(model_name)
            if model is None or model.layer != layer:
                raise UsageError(f"{shown}: [{model_name}] names no model in queries/{layer}/")
            if not isinstance(spec, dict) or set(spec) - {"columns", "tests", *MODEL_KEYS}:
                raise UsageError(
                    f"{shown}: [{model_name}] takes only `columns`, `tests` and the model keys "
                    f"{', '.join(sorted(MODEL_KEYS))}"
                )
            entries: list[dict[str, Any]] = []
            columns = spec.get("columns", {})
            if not isinstance(columns, dict):
                raise UsageError(f"{shown}: [{model_name}.columns] maps columns to test lists")
            for column, kinds in columns.items():
                if not isinstance(kinds, list):
                    raise UsageError(f"{shown}: {model_name}.columns.{column} must be a list")
                for kind in kinds:
                    if kind not in ("unique", "not_null"):
                        raise UsageError(
                            f"{shown}: {model_name}.columns.{column}: {kind!r} needs arguments; "
                            f"declare it in [[{model_name}.tests]]"
                        )
                    entries.append({"test": kind, "column": column})
            declared_tests = spec.get("tests", [])
            if not isinstance(declared_tests, list):
                raise UsageError(f"{shown}: use [[{model_name}.tests]] for each test")
            entries += declared_tests
            for number, entry in enumerate(entries, start=1):
                tests.append(_generic(entry, model, models, f"{shown}, {model_name} test {number}"))
    return tests


def _singular(path: Path, models: dict[str, Model], engine: bool = False) -> DataTest:
    """A singular test: render its SQL, noting every relation it reads and its config().

    `engine`: one of greenery's own invariants (the snapshot's), rendered from the package."""
    from greenery_cli.models import _description
    from greenery_cli.project import current
    from greenery_cli.project.templates import render_project_sql

    shown = (
        f"greenery's snapshot/invariants/{path.name}" if engine else f"queries/tests/{path.name}"
    )
    reads: list[str] = []
    relations: list[str] = []
    config: dict[str, Any] = {"severity": "error", "reason": None}

    def ref(name: str) -> str:
        if name not in models:
            raise UsageError(f"{shown}: ref('{name}') names no model")
        reads.append(name)
        if models[name].in_warehouse:
            relations.append(models[name].relation)
        return models[name].readable

    def relation(schema: str, names: tuple[str, ...] | None = None) -> Any:
        def resolve(name: str) -> str:
            if not _IDENTIFIER.fullmatch(name) or (names is not None and name not in names):
                raise UsageError(f"{shown}: {schema} '{name}' is unknown")
            relations.append(f"{schema}.{name}")
            return f"{schema}.{name}"

        return resolve

    def set_config(severity: str = "error", reason: str | None = None) -> str:
        if severity not in SEVERITIES:
            raise UsageError(f"{shown}: severity {severity!r} is not error or warn")
        if severity == "warn" and not reason:
            raise UsageError(f"{shown}: a warn-severity test needs a one-line reason")
        config.update(severity=severity, reason=reason)
        return ""

    text = path.read_text()
    project = current()
    context = {
        "ref": ref,
        "source": relation("raw", project.source_names),
        "seed": relation("seeds"),
        "snapshot": relation("snapshots"),
        "config": set_config,
    }
    if engine:
        from greenery_cli.sql import render

        sql = render(f"snapshot/invariants/{path.name}", **context)
    else:
        sql = render_project_sql(project.queries, text, shown, context, error=UsageError)
    return DataTest(
        name=path.stem,
        kind="singular",
        target=relations[0] if relations else None,
        column=None,
        severity=config["severity"],
        reason=config["reason"],
        sql=sql.strip().rstrip(";"),
        declared_in=shown,
        models=tuple(dict.fromkeys(reads)),
        relations=tuple(dict.fromkeys(relations)),
        description=_description(text),
    )


def singular_tests(models: dict[str, Model], folder: Path) -> list[DataTest]:
    """The project's queries/tests/*.sql, then greenery's own snapshot invariants."""
    from greenery_cli.resources import ENGINE_QUERIES

    invariants = sorted((ENGINE_QUERIES / "snapshot" / "invariants").glob("*.sql"))
    return [_singular(path, models) for path in sorted((folder / "tests").glob("*.sql"))] + [
        _singular(path, models, engine=True) for path in invariants
    ]


def declared_tests(selectors: tuple[str, ...] = ()) -> list[DataTest]:
    """Every declared test, or those reading a selected model (dbt's eager selection) or named."""
    folder = queries_dir()
    models = discover(folder)
    tests = generic_tests(models, folder) + singular_tests(models, folder)
    seen: dict[str, str] = {}
    for test in tests:
        if test.name in seen:
            raise UsageError(
                f"two tests are named {test.name} ({seen[test.name]}, {test.declared_in}); "
                'give one a name = "..."'
            )
        seen[test.name] = test.declared_in
    if not selectors:
        return tests
    chosen_models: set[str] = set()
    named: set[str] = set()
    targets = {t.target.split(".")[-1] for t in tests if t.target}
    for selector in selectors:
        if selector.strip("+") in models or ":" in selector:  # a name, tag:, layer:, source:
            chosen_models |= select(models, [selector])
        elif selector in seen or selector in targets:
            named.add(selector)
        else:
            raise UsageError(f"--select {selector}: no model, snapshot or test of that name")
    return [
        t
        for t in tests
        if t.name in named
        or (t.target and t.target.split(".")[-1] in named)
        or chosen_models & set(t.models)
    ]
