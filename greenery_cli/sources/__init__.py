"""Where raw tables come from: a folder of CSV/Parquet exports or the shop's PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

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


def is_postgres_url(spec: str) -> bool:
    return spec.startswith(("postgres://", "postgresql://"))


def redact_source(spec: str | None) -> str | None:
    """The source as it may be logged: a postgresql:// URL loses its password."""
    if spec and is_postgres_url(spec):
        from greenery_cli.sources.postgres import redact

        return redact(spec)
    return spec


def open_source(spec: str) -> Source:
    """A Source for a folder path or a postgresql:// URL."""
    if is_postgres_url(spec):
        from greenery_cli.sources.postgres import PostgresSource

        return PostgresSource(spec)
    from greenery_cli.sources.files import FileSource

    return FileSource(spec)
