"""Which engine runs greenery's SQL: `duckdb` (the warehouse file) or a Spark Connect URL.

One parser for the setting wherever it comes from (`--engine`, $GREENERY_ENGINE, `engine = ...`
in the project's greenery.toml). A Spark Connect URL is `sc://host[:port][/;param=value...]`
(port 15002 when left out, as Spark's own client assumes). A token travels in the URL
(`;token=...`), so no message ever shows a parameter's value: `shown` masks them all.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from greenery_cli.errors import UsageError

DEFAULT_SPARK_PORT = 15002
# the parameters Spark Connect's client understands (pyspark.sql.connect.client.ChannelBuilder)
SPARK_PARAMS = ("token", "user_id", "use_ssl", "session_id", "user_agent")
# what runs on a Spark Connect engine today (docs/spark.md); the rest is refused in one line
SPARK_COMMANDS = frozenset(
    {
        "build",
        "fluctuations",
        "freshness",
        "funnel",
        "generate",
        "init",
        "inventory-changes",
        "load",
        "models",
        "project",
        "query",
        "report",
        "runs",
        "schedule",
        "snapshot",
        "stockouts",
        "test",
    }
)
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
_PARAM_VALUE = re.compile(r"=[^;]*")


class EngineSpec(NamedTuple):
    kind: str  # "duckdb" or "spark"
    url: str = ""  # the Spark Connect URL as given (it may hold a token: never print it)
    host: str = ""
    port: int = 0
    params: tuple[str, ...] = ()  # parameter names, in order

    @property
    def is_spark(self) -> bool:
        return self.kind == "spark"

    @property
    def shown(self) -> str:
        """The setting as it may be printed: every parameter's value masked."""
        return mask(self.url) if self.is_spark else "duckdb"


DUCKDB = EngineSpec("duckdb")


def mask(text: str) -> str:
    """The URL with every `;name=value` parameter's value replaced by ***."""
    head, sep, params = text.partition(";")
    return head + sep + _PARAM_VALUE.sub("=***", params) if sep else head


def parse_engine(text: str, where: str = "--engine") -> EngineSpec:
    """`duckdb` or `sc://host[:port][/;k=v...]`; anything else refused in one line."""
    value = text.strip()
    if value.lower() == "duckdb":
        return DUCKDB
    shown = mask(value)

    def refuse(why: str) -> UsageError:
        return UsageError(
            f"{where} {shown!r}: {why} (expected duckdb or sc://host:port[/;param=value])"
        )

    if not value.startswith("sc://"):
        raise refuse("not an engine")
    rest = value[len("sc://") :]
    address, slash, tail = rest.partition("/")
    if slash and tail and not tail.startswith(";"):
        raise refuse("a Spark Connect URL has no path; parameters follow '/;'")
    host, colon, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    if not host or not _HOST.fullmatch(host):
        raise refuse("the host is missing or not a host name")
    port = DEFAULT_SPARK_PORT
    if colon:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise refuse("the port is not a number from 1 to 65535")
        port = int(port_text)
    names: list[str] = []
    for part in (p for p in tail[1:].split(";") if p) if tail else ():
        name, eq, _secret = part.partition("=")
        if not eq or not name:
            raise refuse("a parameter is not name=value")
        if name not in SPARK_PARAMS:
            raise refuse(f"unknown parameter {name!r} (known: {', '.join(SPARK_PARAMS)})")
        names.append(name)
    return EngineSpec("spark", value, host, port, tuple(names))


def resolve_engine(option: str | None, env: str | None, project_setting: str | None) -> EngineSpec:
    """The first given of --engine, $GREENERY_ENGINE, the project's `engine`; else DuckDB."""
    for value, where in (
        (option, "--engine"),
        (env, "GREENERY_ENGINE"),
        (project_setting, "greenery.toml engine"),
    ):
        if value is not None and value.strip():
            return parse_engine(value, where)
    return DUCKDB
