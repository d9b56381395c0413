"""Where raw tables come from: a folder of CSV/Parquet exports or the shop's PostgreSQL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    from greenery_cli.project.sources import RawTable
    from greenery_cli.warehouse import Warehouse


class Source(Protocol):
    kind: str

    @property
    def location(self) -> str:
        """Where the data comes from, safe to store and print (never a password)."""
        ...

    def check(self, tables: tuple[RawTable, ...]) -> None:
        """Fail early, naming everything missing, before anything is written."""
        ...

    def stage(self, wh: Warehouse, table: RawTable, target: str) -> int:
        """Create `target` holding the table's rows typed by the contract; return its row count.

        Raises DataError naming the file/table, column and row on a contract breach.
        """
        ...

    def close(self) -> None: ...


_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.\-]*):")
_POSTGRES_SCHEMES = ("postgresql", "postgres")
_KEYWORD_START = re.compile(r"\s*([A-Za-z_]+)\s*=")
_USERINFO = re.compile(r"\s*[^\s/:@]+:[^\s/]*@")  # user:password@host without a scheme


def is_postgres_url(spec: str) -> bool:
    """Whether `spec` names a PostgreSQL database (refusing what only looks like one)."""
    return source_kind(spec) == "postgres"


def source_kind(spec: str) -> str:
    """'postgres' for a postgresql:// URL (any case) or a libpq keyword/value string such as
    `service=shop` or `host=db dbname=shop`; 'files' for a folder. Anything else that looks
    like a database connection is refused, never taken for a folder and never repeated (it
    may hold a password). A plain folder imports nothing more."""
    scheme = _SCHEME.match(spec)
    name = scheme.group(1).lower() if scheme else ""
    keyword = _KEYWORD_START.match(spec)
    if not ("://" in spec or name in _POSTGRES_SCHEMES or keyword or _USERINFO.match(spec)):
        return "files"
    from greenery_cli.sources.postgres import LIBPQ_KEYWORDS, _malformed

    if "://" in spec or name in _POSTGRES_SCHEMES:
        if name in _POSTGRES_SCHEMES and spec[scheme.end() if scheme else 0 :].startswith("//"):
            return "postgres"
        if name in _POSTGRES_SCHEMES:
            raise UsageError(_malformed(f"{name}: must be followed by //"))
        shown = f"{name}://" if scheme and spec[scheme.end() :].startswith("//") else "it"
        raise UsageError(_malformed(f"{shown} is not a postgresql:// or postgres:// URL"))
    if keyword and keyword.group(1).lower() in LIBPQ_KEYWORDS:
        return "postgres"
    if _USERINFO.match(spec):
        raise UsageError(_malformed("user:password@host needs the postgresql:// in front"))
    return "files"


def check_spec(spec: str | None) -> None:
    """Refuse a malformed connection before anything is opened or written."""
    if spec and source_kind(spec) == "postgres":
        from greenery_cli.sources.postgres import parse_url

        parse_url(spec)


def url_password(spec: str) -> str | None:
    """The password in a folder URL's user part (scheme://user:password@host/...), if any."""
    if "://" not in spec:
        return None
    user, at, _host = spec.split("://", 1)[1].partition("/")[0].rpartition("@")
    return user.split(":", 1)[1] if at and ":" in user else None


def redact_location(spec: str) -> str:
    """A folder or folder URL as it may be shown (a Spark source: s3a://, hdfs://, file://):
    a password in the URL's user part becomes ***; a PostgreSQL source as redact_source."""
    if "://" not in spec:
        return spec
    if spec.split("://", 1)[0].lower() in _POSTGRES_SCHEMES:
        return redact_source(spec) or ""
    scheme, rest = spec.split("://", 1)
    authority, slash, path = rest.partition("/")
    user, at, host = authority.rpartition("@")
    if at and ":" in user:
        authority = f"{user.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{authority}{slash}{path}"


def redact_source(spec: str | None) -> str | None:
    """The source as it may be logged: a connection loses its password; one that cannot be
    read is not shown at all."""
    if not spec:
        return spec
    try:
        kind = source_kind(spec)
    except UsageError:
        return "(a database connection that cannot be read; not shown)"
    if kind == "postgres":
        from greenery_cli.sources.postgres import redact

        return redact(spec)
    return spec


def open_source(spec: str) -> Source:
    """A Source for a folder path or a PostgreSQL connection (see source_kind)."""
    if source_kind(spec) == "postgres":
        from greenery_cli.sources.postgres import PostgresSource

        return PostgresSource(spec)
    from greenery_cli.sources.files import FileSource

    return FileSource(spec)
