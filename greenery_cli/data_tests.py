"""Data tests declared beside the models: what they are and where they come from.

Generic tests (unique, not_null, accepted_values, relationships) are declared per model in
queries/<layer>/schema.toml and rendered from queries/tests/generic/<kind>.sql; singular tests
are queries/tests/*.sql. Either way a test is a query whose rows are failures. Running them is
in greenery_cli/test_run.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from greenery_cli.errors import UsageError
from greenery_cli.models import LAYERS, Model, discover, select
from greenery_cli.project.model_config import MODEL_KEYS
from greenery_cli.project.toml import TomlFile
from greenery_cli.resources import queries_dir

SEVERITIES = ("error", "warn")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RELATION = re.compile(r"(raw|seeds|staging|intermediate|marts|snapshots)\.[A-Za-z_][A-Za-z0-9_]*")
_COMMON_KEYS = ("test", "name", "severity", "reason", "where")


class Kind(NamedTuple):
    """A predefined test: the keys it needs and may take besides test/name/severity/reason/where."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


# the predefined tests, each rendered from greenery_cli/queries/tests/generic/<kind>.sql
KINDS: dict[str, Kind] = {
    "unique": Kind(("column",)),
    "not_null": Kind(("column",)),
    "accepted_values": Kind(("column", "values")),
    "relationships": Kind(("column", "to"), ("field",)),
    "expression_is_true": Kind(("expression",)),
    "accepted_range": Kind(("column",), ("min_value", "max_value", "inclusive")),
    "unique_combination_of_columns": Kind(("columns",)),
    "not_empty": Kind(()),
    "recency": Kind(("column", "within")),
    "equal_rowcount": Kind(("to",), ("to_where",)),
}
GENERIC_KINDS = tuple(KINDS)
# tests a column's list in [<model>.columns] may name without arguments
COLUMN_SHORTHANDS = ("unique", "not_null")


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


def _text(spec: dict[str, Any], key: str, where: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{where}: {key} must be text")
    return value


def _parent(spec: dict[str, Any], models: dict[str, Model], where: str) -> tuple[str, str | None]:
    """(relation, model name or None) that `to` names: a model or a schema.table."""
    parent = spec.get("to")
    if isinstance(parent, str) and parent in models:
        return models[parent].readable, parent  # an ephemeral model: its inlined SELECT
    if isinstance(parent, str) and _RELATION.fullmatch(parent):
        return parent, None
    raise UsageError(f"{where}: {spec.get('test')} to {parent!r} names no model or schema.table")


def _generic(spec: dict[str, Any], model: Model, models: dict[str, Model], where: str) -> DataTest:
    from greenery_cli.sql import render

    if not isinstance(spec, dict):
        raise UsageError(f"{where}: a test is a table of keys (test, column, ...)")
    kind = spec.get("test")
    if kind not in KINDS:
        raise UsageError(f"{where}: test {kind!r} is not one of {', '.join(KINDS)}")
    shape = KINDS[kind]
    known = {*_COMMON_KEYS, *shape.required, *shape.optional}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(unknown)} for a {kind} test "
            f"(it takes {', '.join(sorted(known))})"
        )
    missing = [key for key in shape.required if key not in spec]
    if missing:
        raise UsageError(f"{where}: {kind} needs {', '.join(missing)}")
    for key in ("name", "reason", "where", "to", "field", "expression", "within", "to_where"):
        _text(spec, key, where)
    severity = spec.get("severity", "error")
    if severity not in SEVERITIES:
        raise UsageError(f"{where}: severity {severity!r} is not error or warn")
    if severity == "warn" and not spec.get("reason"):
        raise UsageError(f"{where}: a warn-severity test needs a one-line reason")
    column = _identifier(spec["column"], "column", where) if "column" in spec else None
    context: dict[str, Any] = {
        "relation": model.readable,  # an ephemeral model is tested as its inlined SELECT
        "column": column,
        "where": spec.get("where"),
    }
    params: dict[str, Any] = {}
    reads = [model.name]
    relations = [model.relation] if model.in_warehouse else []
    name = f"{kind}_{model.name}" + (f"_{column}" if column else "")
    if kind == "accepted_values":
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise UsageError(f"{where}: accepted_values needs values = [...]")
        params["accepted_values"] = [str(v) for v in values]
    elif kind in ("relationships", "equal_rowcount"):
        parent, parent_model = _parent(spec, models, where)
        if parent_model:
            reads.append(parent_model)
        if parent_model is None or models[parent_model].in_warehouse:
            relations.append(parent)
        if kind == "relationships":
            context["parent"] = parent
            context["field"] = _identifier(spec.get("field", column), "field", where)
        else:
            context["other"] = parent
            context["to_where"] = spec.get("to_where")
        name += f"__{(parent_model or parent).split('.')[-1]}"
    elif kind == "expression_is_true":
        context["expression"] = spec["expression"]
    elif kind == "accepted_range":
        bounds: dict[str, Any] = {k: spec[k] for k in ("min_value", "max_value") if k in spec}
        if not bounds:
            raise UsageError(f"{where}: accepted_range needs min_value, max_value or both")
        for key, value in bounds.items():
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise UsageError(f"{where}: {key} must be a number, a date or text")
        params.update(bounds)
        inclusive = spec.get("inclusive", True)
        if not isinstance(inclusive, bool):
            raise UsageError(f"{where}: inclusive must be true or false")
        context.update(has_min="min_value" in bounds, has_max="max_value" in bounds)
        context["inclusive"] = inclusive
    elif kind == "unique_combination_of_columns":
        columns = spec["columns"]
        if not isinstance(columns, list) or len(columns) < 2:
            raise UsageError(
                f"{where}: unique_combination_of_columns needs columns = [two or more]"
            )
        context["columns"] = [_identifier(c, "column", where) for c in columns]
        name += "_" + "_".join(context["columns"])
    elif kind == "recency":
        from greenery_cli.parsing import parse_duration

        try:
            params["within_seconds"] = int(parse_duration(spec["within"]).total_seconds())
        except UsageError as exc:
            raise UsageError(f"{where}: within: {exc}") from None
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
        description=spec.get("reason")
        or f"{kind} on {model.name}" + (f".{column}" if column else ""),
    )


def _test_header_lines(text: str, model: str) -> list[int]:
    """The line of each [[<model>.tests]] header, in order."""
    header = re.compile(rf"^\s*\[\[\s*{re.escape(model)}\.tests\s*\]\]", re.MULTILINE)
    return [text.count("\n", 0, m.start()) + 1 for m in header.finditer(text)]


def generic_tests(models: dict[str, Model], folder: Path) -> list[DataTest]:
    tests = []
    for layer in LAYERS:
        path = folder / layer / "schema.toml"
        if not path.is_file():
            continue
        shown = f"queries/{layer}/schema.toml"
        file = TomlFile.read(path, shown)
        for model_name, spec in file.data.items():
            model = models.get(model_name)
            if model is None or model.layer != layer:
                file.fail(f"[{model_name}] names no model in queries/{layer}/", key=model_name)
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
                    if kind not in COLUMN_SHORTHANDS:
                        raise UsageError(
                            f"{shown}: {model_name}.columns.{column}: {kind!r} needs arguments; "
                            f"declare it in [[{model_name}.tests]]"
                        )
                    entries.append({"test": kind, "column": column})
            declared_tests = spec.get("tests", [])
            if not isinstance(declared_tests, list):
                raise UsageError(f"{shown}: use [[{model_name}.tests]] for each test")
            entries += declared_tests
            shorthands = len(entries) - len(declared_tests)
            headers = _test_header_lines(file.text, model_name)
            for number, entry in enumerate(entries, start=1):
                index = number - shorthands - 1
                line = headers[index] if 0 <= index < len(headers) else file.line_of(model_name)
                where = f"{shown}{f' line {line}' if line else ''}, {model_name} test {number}"
                tests.append(_generic(entry, model, models, where))
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


def _all_tests(models: dict[str, Model], folder: Path) -> list[DataTest]:
    tests = generic_tests(models, folder) + singular_tests(models, folder)
    seen: dict[str, str] = {}
    for test in tests:
        if test.name in seen:
            raise UsageError(
                f"two tests are named {test.name} ({seen[test.name]}, {test.declared_in}); "
                'give one a name = "..."'
            )
        seen[test.name] = test.declared_in
    return tests


def declared_tests(selectors: tuple[str, ...] = ()) -> list[DataTest]:
    """Every declared test, or those reading a selected model (dbt's eager selection) or named."""
    from greenery_cli.project import current
    from greenery_cli.project.parse_cache import remembered

    folder = queries_dir()
    models = discover(folder)
    tests: list[DataTest] = remembered(
        current().root, folder, "tests", lambda: _all_tests(models, folder)
    )
    seen = {test.name: test.declared_in for test in tests}
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
