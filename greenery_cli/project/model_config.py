"""How each model is materialised: layer defaults in greenery.toml, per-model keys in its layer's
schema.toml, or a `{{ config(...) }}` call in the model's file.

    # greenery.toml                      # queries/marts/schema.toml
    [models]                             [fct_sessions]
    materialized = "table"               materialized = "incremental"
    [models.staging]                     unique_key = "session_id"
    materialized = "view"                event_time = "first_event_at_utc"

A model's own declaration beats its layer's, which beats [models]. The same key declared in both
schema.toml and config() with different values is refused, naming both places. docs/models.md
describes every key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Any, NamedTuple

from greenery_cli.project.toml import TomlFile, check_keys, string_list

MATERIALIZATIONS = ("view", "table", "incremental", "ephemeral")
STRATEGIES = ("append", "merge", "delete+insert")
LAYER_KEYS = {"materialized", "tags"}
# keys a model may declare (schema.toml [model] or config()); `columns`/`tests` are data tests
MODEL_KEYS = {
    "materialized",
    "incremental_strategy",
    "unique_key",
    "event_time",
    "lookback",
    "tags",
}


@dataclass(frozen=True)
class ModelConfig:
    materialized: str = "table"
    incremental_strategy: str | None = None  # incremental models only; defaulted by validate()
    unique_key: tuple[str, ...] = ()
    event_time: str | None = None  # the column saying when a row happened
    lookback: str | None = None  # a duration: how far before the new data to rebuild
    tags: tuple[str, ...] = ()

    @property
    def lookback_seconds(self) -> float:
        from greenery_cli.parsing import parse_duration

        return parse_duration(self.lookback).total_seconds() if self.lookback else 0.0

    def fingerprint(self) -> str:
        """The config as it affects what gets built (tags do not)."""
        data = asdict(self)
        data.pop("tags")
        return json.dumps(data, sort_keys=True)


class Declared(NamedTuple):
    """One place a model's keys were declared, for messages."""

    where: str  # "queries/marts/schema.toml line 4", "queries/marts/fct_x.sql config()"
    keys: dict[str, Any]


def _materialized(value: Any, where: str, fail: Any) -> str:
    if value not in MATERIALIZATIONS:
        fail(f"{where}: materialized = {value!r}: expected one of {', '.join(MATERIALIZATIONS)}")
    return str(value)


def parse_layer_defaults(
    file: TomlFile, spec: Any, layers: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """greenery.toml [models] and [models.<layer>]: layer -> its default keys ('' = every model)."""
    if not isinstance(spec, dict):
        file.fail("models must be a [models] table", key="models")
    check_keys(file, spec, LAYER_KEYS | set(layers), "[models]", "models")
    defaults: dict[str, dict[str, Any]] = {"": {}}
    tables = {"": {k: v for k, v in spec.items() if k not in layers}}
    tables.update({layer: spec[layer] for layer in layers if layer in spec})
    for layer, keys in tables.items():
        where = f"[models.{layer}]" if layer else "[models]"
        if not isinstance(keys, dict):
            file.fail(f"{where} must be a table of keys (materialized, tags)", key=layer)
        check_keys(file, keys, LAYER_KEYS, where, layer or "models")

        def fail(message: str, _key: str = "materialized") -> None:
            file.fail(message, key=_key)

        if "materialized" in keys:
            _materialized(keys["materialized"], where, fail)
            if keys["materialized"] == "incremental":
                fail(
                    f"{where}: a layer cannot default to incremental (each model declares its keys)"
                )
        if "tags" in keys:
            keys = {**keys, "tags": tuple(string_list(file, keys["tags"], f"{where} tags", "tags"))}
        defaults[layer] = dict(keys)
    return defaults


def resolve(
    model: str,
    layer: str,
    defaults: dict[str, dict[str, Any]],
    declared: list[Declared],
) -> ModelConfig:
    """A model's config from its layer defaults and its own declarations (checked together)."""
    from greenery_cli.errors import UsageError

    own: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for declaration in declared:
        for key, value in declaration.keys.items():
            if key in own and own[key] != value:
                raise UsageError(
                    f"model {model}: {key} is declared twice with different values: "
                    f"{own[key]!r} in {origin[key]} and {value!r} in {declaration.where}; "
                    "declare it in one place"
                )
            own[key] = value
            origin[key] = declaration.where

    def fail(message: str, key: str | None = None) -> None:
        where = origin.get(key or "", "") if key else ""
        raise UsageError(f"{where or f'model {model}'}: {message}")

    base = ModelConfig()
    for scope in ("", layer):
        keys = defaults.get(scope, {})
        if "materialized" in keys:
            base = replace(base, materialized=keys["materialized"])
        base = replace(base, tags=tuple(dict.fromkeys((*base.tags, *keys.get("tags", ())))))
    materialized = _materialized(own.get("materialized", base.materialized), f"model {model}", fail)
    unique_key = own.get("unique_key", [])
    if isinstance(unique_key, str):
        unique_key = [unique_key]
    if not isinstance(unique_key, list | tuple) or not all(
        isinstance(k, str) and k for k in unique_key
    ):
        fail("unique_key must be a column name or a list of them", "unique_key")
    event_time = own.get("event_time")
    if event_time is not None and not isinstance(event_time, str):
        fail("event_time must be a column name", "event_time")
    lookback = own.get("lookback")
    if lookback is not None:
        from greenery_cli.parsing import parse_duration

        try:
            if not isinstance(lookback, str):
                raise UsageError(f"{lookback!r} is not a duration")
            parse_duration(lookback)
        except UsageError as exc:
            fail(f"lookback: {exc}", "lookback")
        if event_time is None:
            fail("lookback needs an event_time (the column it looks back along)", "lookback")
    tags = own.get("tags", [])
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and t for t in tags):
        fail("tags must be a list of names", "tags")
    strategy = own.get("incremental_strategy")
    if materialized != "incremental":
        for key in ("incremental_strategy", "unique_key"):
            if key in own:
                fail(f"{key} applies to incremental models only (this one is {materialized})", key)
    else:
        if strategy is None:
            strategy = "merge" if unique_key else "delete+insert" if event_time else "append"
        if strategy not in STRATEGIES:
            fail(
                f"incremental_strategy = {strategy!r}: expected one of {', '.join(STRATEGIES)}",
                "incremental_strategy",
            )
        if strategy == "merge" and not unique_key:
            fail(
                "the merge strategy needs a unique_key (the rows it replaces)",
                "incremental_strategy",
            )
        if strategy == "delete+insert" and event_time is None:
            fail(
                "the delete+insert strategy needs an event_time (the range it replaces)",
                "incremental_strategy",
            )
    return ModelConfig(
        materialized=materialized,
        incremental_strategy=strategy,
        unique_key=tuple(unique_key),
        event_time=event_time,
        lookback=lookback,
        tags=tuple(dict.fromkeys((*base.tags, *tags))),
    )


def schema_declarations(file: TomlFile, model: str, spec: dict[str, Any]) -> Declared | None:
    """The config keys of one [model] table of a schema.toml (its tests are data_tests')."""
    keys = {k: v for k, v in spec.items() if k in MODEL_KEYS}
    if not keys:
        return None
    line = file.line_of(model)
    return Declared(f"{file.shown}{f' line {line}' if line else ''} [{model}]", keys)


def config_call_keys(shown: str, kwargs: dict[str, Any]) -> Declared:
    """The keys of a model file's {{ config(...) }} call, unknown ones refused."""
    from greenery_cli.errors import UsageError

    unknown = sorted(set(kwargs) - MODEL_KEYS)
    if unknown:
        raise UsageError(
            f"{shown}: config() got unknown key(s) {', '.join(unknown)}; greenery understands "
            f"{', '.join(sorted(MODEL_KEYS))}"
        )
    return Declared(f"{shown} config()", dict(kwargs))
