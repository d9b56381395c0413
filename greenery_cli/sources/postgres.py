"""The shop's PostgreSQL database: the raw tables of one schema, read in one consistent snapshot.

The client is ADBC's libpq-based PostgreSQL driver: each table arrives as Arrow record batches
(the driver reads PostgreSQL's binary COPY in C++) and DuckDB scans them straight into the
warehouse, so no row passes through Python. libpq resolves credentials (URL, PG* variables,
~/.pgpass). The README's "Loading from PostgreSQL" section says why this client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode

from greenery_cli.errors import DataError, SourceError
from greenery_cli.project.sources import RawTable
from greenery_cli.sources import values

if TYPE_CHECKING:
    from greenery_cli.warehouse import Warehouse

DEFAULT_SCHEMA = "public"
CONNECT_TIMEOUT_SECONDS = 10

# PostgreSQL types (pg_type.typname, domains resolved) each contract type accepts. Text columns
# are accepted for every contract type and their values cast, like a CSV export's fields.
_TEXT = frozenset({"text", "varchar", "bpchar", "name", "citext"})
_NUMBERS = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
_ACCEPTED: dict[str, frozenset[str]] = {
    "VARCHAR": _TEXT | {"uuid", "int2", "int4", "int8"},
    "INTEGER": _TEXT | _NUMBERS,
    "BIGINT": _TEXT | _NUMBERS,
    "DOUBLE": _TEXT | _NUMBERS,
    "BOOLEAN": _TEXT | {"bool"},
    "DATE": _TEXT | {"date", "timestamp", "timestamptz"},
    "TIMESTAMPTZ": _TEXT | {"date", "timestamptz", "timestamp"},
}
# How DuckDB sees each PostgreSQL type in the Arrow batches _select() reads (numeric arrives
# as float8); values.converted() checks every value against the contract from there.
_DUCKDB_TYPE = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "numeric": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class PostgresUrl:
    """A postgresql:// URL split into what libpq gets and what greenery may show."""

    conninfo: str  # for libpq: without greenery's ?schema=, with a connect timeout
    location: str  # safe to store and print: no password
    schema: str
    secrets: tuple[str, ...]  # the password in every spelling, to scrub from messages


# libpq's connection keywords (a keyword/value string is read when it starts with one), and
# greenery's own `schema`; the secret ones never reach a location or a message
LIBPQ_KEYWORDS = frozenset(
    "host hostaddr port dbname user password passfile require_auth channel_binding "
    "connect_timeout client_encoding options application_name fallback_application_name "
    "keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout "
    "replication gssencmode sslmode requiressl sslcompression sslcert sslkey sslpassword "
    "sslcertmode sslrootcert sslcrl sslcrldir sslsni requirepeer ssl_min_protocol_version "
    "ssl_max_protocol_version krbsrvname gsslib gssdelegation service target_session_attrs "
    "load_balance_hosts schema".split()
)
_SECRET_KEYS = frozenset({"password", "sslpassword"})
_KEYWORD = re.compile(r"\s*([A-Za-z_]+)\s*=\s*")


def keyword_pairs(spec: str) -> list[tuple[str, str]]:
    """A libpq keyword/value string (`host=db user=me password='a b'`) as pairs; a malformed
    one is refused without repeating it (it may hold a password)."""
    pairs: list[tuple[str, str]] = []
    at = 0
    while at < len(spec):
        if spec[at:].strip() == "":
            break
        found = _KEYWORD.match(spec, at)
        if not found:
            raise SourceError(_malformed("a keyword/value string needs key=value pairs"))
        key, at = found.group(1).lower(), found.end()
        if key not in LIBPQ_KEYWORDS:
            raise SourceError(_malformed(f"{key!r} is not a libpq connection keyword"))
        value: list[str] = []
        if spec[at : at + 1] == "'":
            at += 1
            while at < len(spec) and spec[at] != "'":
                if spec[at] == "\\" and at + 1 < len(spec):
                    at += 1
                value.append(spec[at])
                at += 1
            if at >= len(spec):
                raise SourceError(_malformed(f"the quoted value of {key} is never closed"))
            at += 1
        else:
            while at < len(spec) and not spec[at].isspace():
                if spec[at] == "\\" and at + 1 < len(spec):
                    at += 1
                value.append(spec[at])
                at += 1
        pairs.append((key, "".join(value)))
    return pairs


def _malformed(why: str) -> str:
    return (
        f"--source looks like a database connection but cannot be read ({why}); it is not "
        "repeated here in case it holds a password. Write postgresql://USER@HOST:PORT/DB"
        "?schema=NAME, with the password in PGPASSWORD or ~/.pgpass"
    )


def _spellings(secret: str) -> list[str]:
    """A password as typed, decoded and encoded every way a URL or message might show it."""
    plain = unquote(secret)
    return [secret, plain, quote(plain, safe=""), quote_plus(plain), quote(plain)]


def parse_url(spec: str) -> PostgresUrl:
    """A postgresql:// URL (any case of the scheme, a password with unencoded @ or /) or a
    libpq keyword/value string, split into conninfo, a safe location, schema and secrets."""
    text = spec.strip()
    if "://" not in text:
        query = keyword_pairs(text)
        scheme, userinfo, rest = "postgresql", "", "/"
    else:
        scheme, _, after = text.partition("://")
        scheme = scheme.lower()
        # the password may hold @, / or ?: the user part ends at the last @ (a literal @
        # anywhere after it must be written %40)
        userinfo, at, rest = after.rpartition("@")
        if not at:
            userinfo, rest = "", after
        rest, _, raw_query = rest.partition("?")
        query = parse_qsl(raw_query, keep_blank_values=True)
    user, has_password, password = userinfo.partition(":")
    secrets = _spellings(password) if has_password and password else []
    secrets += [s for k, v in query if k in _SECRET_KEYS and v for s in _spellings(v)]
    hosts, slash, path = rest.partition("/")
    if any(c.isspace() for c in hosts) or "@" in hosts:
        raise SourceError(_malformed("its host part is not a host name"))
    schemas = [v for k, v in query if k == "schema"]
    schema = schemas[-1] if schemas else DEFAULT_SCHEMA
    libpq_query = [(k, v) for k, v in query if k != "schema"]
    for name, default in (
        ("connect_timeout", str(CONNECT_TIMEOUT_SECONDS)),
        ("application_name", "greenery"),
    ):
        if not any(k == name for k, _ in libpq_query):
            libpq_query.append((name, default))
    safe_query = [(k, v) for k, v in query if k != "schema" and k not in _SECRET_KEYS]
    safe_query.append(("schema", schema))
    shown_user = quote(unquote(user), safe="") if user else ""
    credentials = shown_user + (":" + quote(unquote(password), safe="") if password else "")
    tail = f"{hosts}{slash}{path}"
    base = f"{scheme}://{shown_user + '@' if shown_user else ''}{tail}"
    return PostgresUrl(
        conninfo=f"{scheme}://{credentials + '@' if credentials else ''}{tail}"
        f"?{urlencode(libpq_query)}",
        location=f"{base}?{urlencode(safe_query)}",
        schema=schema,
        secrets=tuple(sorted({s for s in secrets if s}, key=len, reverse=True)),
    )


def redact(spec: str) -> str:
    """The URL without its password (and with its schema spelled out), for logs and messages;
    one that cannot be read is not shown at all."""
    try:
        return parse_url(spec).location
    except (ValueError, SourceError):
        return "(a database connection that cannot be read; not shown)"


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _one_line(text: str) -> str:
    """libpq's message, first line only: no driver prefix, echoed query, hint or SQLSTATE."""
    text = re.sub(r"^\w+: \[libpq\] ", "", text.strip())
    text = re.sub(r"^Failed to connect: ", "", text)
    text = re.sub(r"^Failed to \w+ query(?: '.*?')?: (?=ERROR|FATAL|could)", "", text, flags=re.S)
    text = re.sub(r"^could not begin COPY: ", "", text)
    text = text.splitlines()[0] if text else text
    return re.sub(r"\s+", " ", re.sub(r"\b(?:FATAL|ERROR):", "", text)).strip()


@dataclass(frozen=True)
class _Column:
    type_label: str  # as PostgreSQL spells it, for messages
    typname: str  # the base type's pg_type.typname (an array's starts with _: never accepted)


class PostgresSource:
    """All raw tables of one schema, read in one REPEATABLE READ, READ ONLY transaction.

    check() opens the connection and the transaction (its first query fixes the snapshot);
    every stage() reads from that snapshot; close() ends it.
    """

    kind = "postgres"

    def __init__(self, spec: str) -> None:
        self.url = parse_url(spec)
        if not self.url.schema:
            raise SourceError(f"{self.url.location.partition('?')[0]}: ?schema= names no schema")
        self._connection: Any = None
        self._columns: dict[str, dict[str, _Column]] = {}

    @property
    def location(self) -> str:
        return self.url.location

    @property
    def schema(self) -> str:
        return self.url.schema

    def _scrub(self, text: str) -> str:
        text = text.replace(self.url.conninfo, self.location)
        for secret in self.url.secrets:
            text = text.replace(secret, "***")
        return text

    def _fail(self, what: str, exc: BaseException) -> SourceError:
        return SourceError(self._scrub(f"{self.location}: {what}: {_one_line(str(exc))}"))

    def _query(self, sql: str, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        with self._connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _connect(self) -> None:
        try:
            import adbc_driver_postgresql.dbapi as adbc
        except ImportError:
            raise SourceError(
                "reading from PostgreSQL needs the adbc-driver-postgresql package "
                "(pip install adbc-driver-postgresql)"
            ) from None
        try:
            self._connection = adbc.connect(self.url.conninfo, autocommit=True)
        except adbc.Error as exc:
            raise self._fail("cannot connect", exc) from None
        try:
            # autocommit off would let the driver open a default (read committed) transaction
            self._query("begin transaction isolation level repeatable read, read only")
        except adbc.Error as exc:
            self.close()
            raise self._fail("cannot start a read-only transaction", exc) from None

    def check(self, tables: tuple[RawTable, ...]) -> None:
        import adbc_driver_postgresql.dbapi as adbc

        from greenery_cli.sql import render

        if self._connection is None:
            self._connect()
        schema, catalog = self.schema, render("sources/postgres_catalog.sql")
        try:
            if not self._query(
                "select 1 from pg_catalog.pg_namespace where nspname = $1", (schema,)
            ):
                raise SourceError(f"{self.location}: no schema {schema!r} in the database")
            rows = self._query(catalog, (schema, [t.name for t in tables]))
        except adbc.Error as exc:
            raise self._fail("cannot read the catalog", exc) from None
        found: dict[str, dict[str, _Column]] = {}
        for relname, column, label, typname in rows:
            found.setdefault(relname, {})[column] = _Column(label, typname)
        missing = [t.name for t in tables if t.name not in found]
        if missing:
            names = ", ".join(f"{schema}.{name}" for name in missing)
            raise SourceError(f"{self.location}: missing raw table(s) {names}")
        for table in tables:
            self._check_columns(table, found[table.name])
        self._columns.update(found)

    def _check_columns(self, table: RawTable, columns: dict[str, _Column]) -> None:
        where = f"{self.location}: {self.schema}.{table.name}"
        missing = [c for c in table.columns if c not in columns]
        if missing:
            extra = [c for c in columns if c not in table.columns]
            shown = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
            hint = f" (the table has other column(s) {shown})" if extra else ""
            raise DataError(
                f"{where}: missing column(s) {', '.join(missing)} for raw table {table.name}{hint}"
            )
        wrong = [
            f"{name} is {columns[name].type_label}, the raw contract declares {type_}"
            for name, type_ in table.columns.items()
            if columns[name].typname not in _ACCEPTED[type_]
        ]
        if wrong:
            raise DataError(f"{where}: wrong column type(s): {'; '.join(wrong)}")

    def _select(self, table: RawTable, columns: list[str]) -> str:
        """The PostgreSQL query for some of a table's columns, in types Arrow carries simply."""
        found = self._columns[table.name]
        exprs = []
        for name in columns:
            typname, quoted = found[name].typname, _quote_ident(name)
            if typname == "numeric" or (table.columns[name] == "VARCHAR" and typname not in _TEXT):
                target = "float8" if typname == "numeric" else "text"
                exprs.append(f"{quoted}::{target} as {quoted}")
            else:
                exprs.append(quoted)
        relation = f"{_quote_ident(self.schema)}.{_quote_ident(table.name)}"
        return f"select {', '.join(exprs)} from {relation}"

    def _scan(
        self, con: Any, table: RawTable, columns: list[str], sql: str, since: Any = None
    ) -> list[Any]:
        """Run `sql` on DuckDB connection `con` over the rows of `columns`, seen as `pg_rows`
        (with `since`: only rows whose incremental_column is at or after it)."""
        import adbc_driver_postgresql.dbapi as adbc

        if table.name not in self._columns:
            raise SourceError(f"{self.location}: {table.name} was not checked before staging")
        query, params = self._select(table, columns), None
        if since is not None:
            assert table.incremental_column is not None
            query += f" where {_quote_ident(table.incremental_column)} >= $1"
            params = (since,)
        cursor = self._connection.cursor()
        try:
            try:
                cursor.execute(query, params)
                batches = cursor.fetch_record_batch()
            except adbc.Error as exc:
                raise self._fail(f"cannot read {self.schema}.{table.name}", exc) from None
            con.register("pg_rows", batches)
            try:
                return list(con.execute(sql).fetchall())
            finally:
                con.unregister("pg_rows")
                batches.close()
        finally:
            cursor.close()

    def _delivered(self, table: RawTable, column: str) -> str:
        """The DuckDB type a column arrives as from _select()."""
        typname = self._columns[table.name][column].typname
        if table.columns[column] == "VARCHAR" or typname in _TEXT:
            return "VARCHAR"
        return _DUCKDB_TYPE[typname]

    def stage(
        self,
        wh: Warehouse,
        table: RawTable,
        target: str,
        since: Any = None,
        temporary: bool = False,
    ) -> int:
        """Create `target` from the table (with `since`: only its rows at or after that moment
        of its incremental_column, the way an incremental load reads an append-only table)."""
        import duckdb

        from greenery_cli.errors import disk_full

        casts = ", ".join(
            f"{values.converted(_quote_ident(c), t, self._delivered(table, c), c)} "
            f"as {_quote_ident(c)}"
            for c, t in table.columns.items()
        )
        kind = "temp table" if temporary else "table"
        sql = f"create or replace {kind} {target} as select {casts} from pg_rows"
        try:
            self._scan(wh.con, table, list(table.columns), sql, since)
        except duckdb.Error as exc:
            full = disk_full(exc, wh.path)
            if full is not None:
                raise full from None
            raise DataError(self._explain(table, exc)) from None
        return int(wh.scalar(f"select count(*) from {target}"))

    def _explain(self, table: RawTable, exc: Exception) -> str:
        """Name the first value that breaks the contract, re-read from the same snapshot."""
        import duckdb

        where = f"{self.location}: {self.schema}.{table.name}"
        found = self._columns[table.name]
        key = list(table.primary_key)
        keys = ", ".join(f"cast({_quote_ident(k)} as varchar)" for k in key)
        named = values.refused_column(str(exc))
        columns = [named] if named in table.columns else list(table.columns)
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            for column in columns:
                type_ = table.columns[column]
                delivered = self._delivered(table, column)
                if not values.needs_check(type_, delivered):
                    continue
                quoted = _quote_ident(column)
                bad = self._scan(
                    con,
                    table,
                    key if column in key else [*key, column],
                    f"select cast({quoted} as varchar), {keys} from pg_rows "
                    f"where {values.refused(quoted, type_, delivered)} limit 1",
                )
                if bad:
                    value, *row_key = bad[0]
                    row = ", ".join(f"{k}={v!r}" for k, v in zip(key, row_key, strict=True))
                    return self._scrub(
                        f"{where} row {row}, column {column}: {value!r} "
                        f"{values.reason(type_)} (the column is {found[column].type_label})"
                    )
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return self._scrub(f"{where}: cannot read as raw table {table.name}: {first}")

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("rollback")
        except Exception:  # noqa: BLE001 - closing anyway; the read-only work is already done
            pass
        try:
            connection.close()
        except Exception:  # noqa: BLE001
            pass
