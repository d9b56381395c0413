"""`--source postgresql://...`: a real PostgreSQL server, started here, holding the real dataset.

The server is Debian's PostgreSQL (15 preferred), initdb'd into a temporary folder as a non-root
user, listening on a Unix socket in that folder (trust, for setting up) and on a free port of
127.0.0.1 (password auth, as greenery connects). Tests skip, saying why, where it cannot start.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import RAW_TABLE_NAMES, RAW_TABLES, run_cli

from greenery_cli.errors import ExitCode
from greenery_cli.sources.postgres import PostgresSource, parse_url, redact

PASSWORD = "pl4nt-s3cret"
PG_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "TIMESTAMPTZ": "timestamptz",
}
WAREHOUSE_SCHEMAS = ("raw", "seeds", "staging", "intermediate", "marts")


# --- URLs: what libpq gets and what greenery shows (no server needed) ---


def test_url_password_never_reaches_the_location() -> None:
    url = parse_url("postgresql://analytics:p%40ss@db.internal:5432/greenery?schema=shop")
    assert url.location == "postgresql://analytics@db.internal:5432/greenery?schema=shop"
    assert url.schema == "shop"
    assert "schema=" not in url.conninfo and "analytics:p%40ss@" in url.conninfo
    assert "p@ss" in url.secrets and "p%40ss" in url.secrets


def test_url_defaults_and_keeps_libpq_parameters() -> None:
    url = parse_url("postgres://db.internal/greenery?sslmode=require&password=hunter2")
    assert url.schema == "public"
    assert url.location == "postgres://db.internal/greenery?sslmode=require&schema=public"
    assert "sslmode=require" in url.conninfo and "password=hunter2" in url.conninfo
    assert "connect_timeout=" in url.conninfo
    assert redact("postgresql://u:pw@h/d") == "postgresql://u@h/d?schema=public"
    assert redact("postgresql://u:pw@h/d?schema=") == "postgresql://u@h/d?schema="


# --- the server ---


@dataclass
class PgServer:
    bin_dir: Path
    socket_dir: Path
    port: int
    run_as: list[str]

    def admin_url(self, database: str = "greenery") -> str:
        return f"postgresql://greenery@/{database}?host={self.socket_dir}&port={self.port}"

    def url(self, schema: str = "public", password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"postgresql://greenery{secret}@127.0.0.1:{self.port}/greenery?schema={schema}"

    def execute(self, *statements: str) -> list[Any]:
        """Run statements as the superuser over the socket; the last one's rows."""
        import adbc_driver_postgresql.dbapi as adbc

        rows: list[Any] = []
        with adbc.connect(self.admin_url(), autocommit=True) as con, con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
                rows = cur.fetchall() if cur.description else []
        return rows


def _find_bin_dir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: (p.parent.name != "15", p.parent.name),
    )
    return versions[0] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg_server(real_data: Path) -> Iterator[PgServer]:
    bin_dir = _find_bin_dir()
    if bin_dir is None:
        pytest.skip(
            "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"
        )
    pytest.importorskip("adbc_driver_postgresql.dbapi", reason="adbc-driver-postgresql missing")
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(p, os.X_OK)), None
        )
        if runuser is None:
            pytest.skip("running as root and there is no runuser to start PostgreSQL as postgres")
        run_as = [runuser, "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="greenery-pg-"))
    data, log = base / "data", base / "server.log"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    base.chmod(0o755)
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    port = _free_port()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*run_as, *args], capture_output=True, text=True, timeout=120, cwd=base
        )

    init = run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-U",
        "greenery",
        "--pwfile",
        str(pwfile),
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--no-locale",
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {(init.stderr or init.stdout).strip()[-300:]}")
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {base} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    start = run(
        str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"
    )
    if start.returncode != 0:
        detail = log.read_text()[-300:] if log.is_file() else start.stderr
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {detail.strip()}")
    server = PgServer(bin_dir, base, port, run_as)
    try:
        _create_database(server, real_data / "raw", base)
        yield server
    finally:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def _create_database(server: PgServer, raw: Path, base: Path) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(server.admin_url("postgres"), autocommit=True) as con, con.cursor() as cur:
        cur.execute("create database greenery")
    # the server reads the CSVs itself, so they go where its user can read them
    csv_dir = base / "csv"
    csv_dir.mkdir()
    statements = []
    for table in RAW_TABLES:
        shutil.copy(raw / f"{table.name}.csv", csv_dir / f"{table.name}.csv")
        (csv_dir / f"{table.name}.csv").chmod(0o644)
        columns = ", ".join(f"{c} {PG_TYPES[t]}" for c, t in table.columns.items())
        key = ", ".join(table.primary_key)
        statements += [
            f"create table public.{table.name} ({columns}, primary key ({key}))",
            f"copy public.{table.name} from '{csv_dir / table.name}.csv' (format csv, header true)",
        ]
    server.execute(*statements, "analyze")


def clone_schema(server: PgServer, schema: str, *changes: str) -> str:
    """A copy of the public tables (no constraints) in `schema`, then `changes` run in it."""
    server.execute(
        f"drop schema if exists {schema} cascade",
        f"create schema {schema}",
        *(f"create table {schema}.{t} as select * from public.{t}" for t in RAW_TABLE_NAMES),
        f"set search_path = {schema}",
        *changes,
    )
    return schema


# --- warehouses ---


def contents(db: Path) -> dict[str, tuple[list[Any], list[Any]]]:
    """Every table of the data schemas: its columns and types, and its rows in a fixed order."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {WAREHOUSE_SCHEMAS} order by all"
        ).fetchall()
        return {
            f"{s}.{t}": (
                con.execute(f"describe {s}.{t}").fetchall(),
                sorted(con.execute(f"select * from {s}.{t}").fetchall(), key=repr),
            )
            for s, t in tables
        }


@pytest.fixture(scope="session")
def pg_loaded_warehouse(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenery_cli.load import LoadSettings, load

    db = tmp_path_factory.mktemp("pg") / "from-postgres.duckdb"
    load(LoadSettings(db=db, source=pg_server.url()))
    return db


@pytest.fixture
def warehouse(
    pg_loaded_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, dict[str, Any]]:
    """A private copy of the warehouse loaded from PostgreSQL, and its contents."""
    monkeypatch.setenv("COLUMNS", "1000")  # so a message's one line is not wrapped for the test
    db = tmp_path / "w.duckdb"
    shutil.copy(pg_loaded_warehouse, db)
    return db, contents(db)


def no_password_anywhere(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


def meta_texts(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select location from meta.source union all select location from meta.loads "
            "union all select args || coalesce(message, '') from meta.runs"
        ).fetchall()
    return [r[0] for r in rows]


# --- loading ---


def test_load_from_postgres_gives_the_same_warehouse_as_from_csv(
    pg_loaded_warehouse: Path, loaded_real_warehouse: Path
) -> None:
    from_pg, from_csv = contents(pg_loaded_warehouse), contents(loaded_real_warehouse)
    assert [k for k in from_csv if k.startswith("raw.")] == [
        f"raw.{t}" for t in sorted(RAW_TABLE_NAMES)
    ]
    assert any(k.startswith("marts.") for k in from_csv)
    assert from_pg.keys() == from_csv.keys()
    for relation in from_csv:
        assert from_pg[relation] == from_csv[relation], relation


def test_remembered_source_has_no_password_and_credentials_come_from_pgpass(
    cli, pg_server: PgServer, tmp_path: Path
) -> None:
    db = str(tmp_path / "w.duckdb")
    first = cli("--db", db, "load", "--source", pg_server.url())
    assert first.exit_code == 0, first.stderr
    no_password_anywhere(first.stdout, first.stderr, *meta_texts(Path(db)))
    with duckdb.connect(db, read_only=True) as con:
        assert con.execute("select kind, location from meta.source").fetchall() == [
            ("postgres", pg_server.url(password=None))
        ]
    # the remembered URL has no password: without one from libpq's sources, a clear refusal
    refused = cli("--db", db, "load")
    assert refused.exit_code == ExitCode.TOOL_ERROR
    assert "password" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    pgpass = Path(os.environ["HOME"]) / ".pgpass"
    pgpass.parent.mkdir(parents=True, exist_ok=True)
    pgpass.write_text(f"127.0.0.1:{pg_server.port}:greenery:greenery:{PASSWORD}\n")
    pgpass.chmod(0o600)
    again = cli("--db", db, "load")
    assert again.exit_code == 0, again.stderr
    no_password_anywhere(again.stderr, *meta_texts(Path(db)))


def test_credentials_from_pg_environment_variables(
    cli, pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("PGUSER", "greenery")
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg_server.port))
    result = cli("--db", str(tmp_path / "w.duckdb"), "load", "--source", "postgresql:///greenery")
    assert result.exit_code == 0, result.stderr
    assert "7 of 7 raw tables changed (+5,092 rows)" in result.stderr


def test_text_and_other_column_types_are_cast_by_the_contract(
    cli, pg_server: PgServer, tmp_path: Path, loaded_real_warehouse: Path
) -> None:
    schema = clone_schema(
        pg_server,
        "as_text",
        "alter table products alter column inventory type text, alter column price type text",
        "alter table orders alter column created_at type text using to_char("
        "created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        "alter table users alter column user_id type varchar(40)",
        "alter table orders alter column order_total type numeric(10, 2)",
        "alter table order_items alter column quantity type bigint",
        "alter table events alter column created_at type timestamp "
        "using created_at at time zone 'UTC'",
    )
    db = tmp_path / "w.duckdb"
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert result.exit_code == 0, result.stderr
    got, expected = contents(db), contents(loaded_real_warehouse)
    for table in RAW_TABLE_NAMES:
        assert got[f"raw.{table}"] == expected[f"raw.{table}"], table


# --- failures: one clear line, the right exit code, no password, the warehouse untouched ---


def assert_refused(result, db: Path, before: dict[str, Any], code: ExitCode, *needles: str) -> str:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    no_password_anywhere(result.stderr, *meta_texts(db))
    assert contents(db) == before
    return lines[0]


def test_unreachable_server(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    url = f"postgresql://greenery:{PASSWORD}@127.0.0.1:{_free_port()}/greenery"
    result = cli("--db", str(db), "load", "--source", url)
    assert_refused(result, db, before, ExitCode.TOOL_ERROR, "cannot connect", "refused")


def test_bad_password(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    result = cli("--db", str(db), "load", "--source", pg_server.url(password="wrong-" + PASSWORD))
    line = assert_refused(result, db, before, ExitCode.TOOL_ERROR, "password authentication failed")
    assert "wrong-" not in line


def test_missing_schema(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    result = cli("--db", str(db), "load", "--source", pg_server.url("no_such_schema"))
    assert_refused(result, db, before, ExitCode.TOOL_ERROR, "no schema 'no_such_schema'")


def test_missing_table(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    schema = clone_schema(pg_server, "no_promos", "drop table promos")
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(result, db, before, ExitCode.TOOL_ERROR, "missing raw table(s) no_promos.promos")


def test_a_table_the_role_may_not_read(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    pg_server.execute(
        "drop role if exists clerk",
        f"create role clerk login password '{PASSWORD}'",
        "grant usage on schema public to clerk",
        "grant select on all tables in schema public to clerk",
        "revoke select on public.events from clerk",
    )
    url = f"postgresql://clerk:{PASSWORD}@127.0.0.1:{pg_server.port}/greenery"
    result = cli("--db", str(db), "load", "--source", url)
    assert_refused(
        result,
        db,
        before,
        ExitCode.TOOL_ERROR,
        "public.events",
        "permission denied for table events",
    )


def test_missing_column(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    schema = clone_schema(
        pg_server, "no_ship", "alter table orders rename column shipping_cost to ship_cost"
    )
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(
        result,
        db,
        before,
        ExitCode.WORK_FAILED,
        "no_ship.orders",
        "missing column(s) shipping_cost",
        "ship_cost",
    )


def test_wrong_column_type(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    schema = clone_schema(
        pg_server,
        "bool_inventory",
        "alter table products alter column inventory type boolean using inventory > 0",
        "alter table products alter column price type double precision[] using array[price]",
    )
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(
        result,
        db,
        before,
        ExitCode.WORK_FAILED,
        "bool_inventory.products",
        "inventory is boolean, the raw contract declares INTEGER",
        "price is double precision[], the raw contract declares DOUBLE",
    )


def test_unparseable_text_value_names_row_and_column(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    schema = clone_schema(
        pg_server,
        "lots",
        "alter table products alter column inventory type text",
        "update products set inventory = 'lots' where name = 'Pothos'",
    )
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(
        result,
        db,
        before,
        ExitCode.WORK_FAILED,
        "lots.products row product_id='4cda01b9-62e2-46c5-830f-b7f262a58fb1'",
        "column inventory: 'lots' is not a valid INTEGER",
    )


@pytest.mark.parametrize(
    ("name", "changes", "needles"),
    [
        (
            "fraction_numeric",
            [
                "alter table products alter column inventory type numeric",
                "update products set inventory = 12.5 where name = 'Pothos'",
            ],
            ["column inventory: '12.5' is not a valid INTEGER", "(the column is numeric)"],
        ),
        (
            "fraction_text",
            [
                "alter table products alter column inventory type text",
                "update products set inventory = '12.5' where name = 'Pothos'",
            ],
            ["column inventory: '12.5' is not a valid INTEGER"],
        ),
        (
            "absurd_moment",
            ["update events set created_at = 'infinity' where event_type = 'checkout'"],
            ["column created_at:", "is not a valid TIMESTAMPTZ"],
        ),
        (
            "far_future",
            ["update orders set delivered_at = '5000-01-01T00:00:00Z' where status = 'delivered'"],
            ["column delivered_at:", "is not a valid TIMESTAMPTZ (a moment from 1900-01-01"],
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_values_are_checked_exactly_as_from_files(
    cli, warehouse, pg_server: PgServer, name: str, changes: list[str], needles: list[str]
) -> None:
    db, before = warehouse
    schema = clone_schema(pg_server, name, *changes)
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(result, db, before, ExitCode.WORK_FAILED, f"{name}.", *needles)


def test_duplicate_key(cli, warehouse, pg_server: PgServer) -> None:
    db, before = warehouse
    schema = clone_schema(
        pg_server,
        "dupes",
        "insert into order_items select order_id, product_id, 9 from order_items limit 1",
    )
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert_refused(
        result,
        db,
        before,
        ExitCode.WORK_FAILED,
        "dupes",
        "duplicate primary key (order_id, product_id)",
    )


# --- on Spark: read here, sent to the server (the stand-in engine) ---


def _spark_logged(db: Path) -> tuple[list[Any], list[str]]:
    """The Spark run log's loads (no times) and every text it holds."""
    with duckdb.connect(str(db), read_only=True) as con:
        loads = con.execute(
            "select table_name, source_kind, location, rows, action from meta.loads order by all"
        ).fetchall()
        texts = con.execute(
            "select location from meta.loads union all "
            "select args || coalesce(message, '') from meta.runs"
        ).fetchall()
    return loads, [t for (t,) in texts]


def test_a_spark_load_from_postgres_gives_duckdbs_warehouse_and_shows_no_password(
    pg_server: PgServer, pg_loaded_warehouse: Path, tmp_path: Path, on_stand_in: dict[str, Path]
) -> None:
    from spark_stand_in import STAND_IN

    spark = tmp_path / "spark.duckdb"
    on_stand_in["db"] = spark
    result = run_cli("--engine", STAND_IN, "load", "--source", pg_server.url())
    assert result.exit_code == 0, result.stderr
    location = redact(pg_server.url())
    assert (
        f"loaded 7 raw tables (5092 rows) and 3 seeds, built 17 models on {STAND_IN} "
        in (result.stderr)
        and f"from {location} (run 1)" in result.stderr
    )
    mine, theirs = contents(spark), contents(pg_loaded_warehouse)
    assert mine.keys() == theirs.keys()
    for relation in theirs:
        assert mine[relation] == theirs[relation], relation
    loads, texts = _spark_logged(spark)
    assert loads == _spark_logged(pg_loaded_warehouse)[0]
    assert {kind for _, kind, *_ in loads} == {"postgres"}
    no_password_anywhere(result.stdout, result.stderr, *texts)


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        (
            "lots_on_spark",
            [
                "alter table products alter column inventory type text",
                "update products set inventory = 'lots' where name = 'Pothos'",
            ],
        ),
        (
            "dupes_on_spark",
            ["insert into order_items select order_id, product_id, 9 from order_items limit 1"],
        ),
        ("bad_password", []),
    ],
)
def test_a_spark_load_from_postgres_refuses_what_duckdbs_refuses(
    pg_server: PgServer,
    tmp_path: Path,
    on_stand_in: dict[str, Path],
    name: str,
    changes: list[str],
) -> None:
    from spark_stand_in import STAND_IN

    from greenery_cli.warehouse import open_warehouse

    spark, duck = tmp_path / "spark.duckdb", tmp_path / "duck.duckdb"
    with open_warehouse(spark, write=True):
        pass  # a warehouse there, so the stand-in keeps the failed run's row
    on_stand_in["db"] = spark
    if name == "bad_password":
        url = pg_server.url(password="wrong-" + PASSWORD)
    else:
        url = pg_server.url(clone_schema(pg_server, name, *changes))
    theirs = run_cli("--db", str(duck), "load", "--source", url)
    mine = run_cli("--engine", STAND_IN, "load", "--source", url)
    assert mine.exit_code == theirs.exit_code != 0, mine.stderr
    assert mine.stderr == theirs.stderr and len(mine.stderr.strip().splitlines()) == 1
    with duckdb.connect(str(spark), read_only=True) as con:  # nothing loaded, the error logged
        assert not con.execute("select * from duckdb_tables() where schema_name = 'raw'").fetchall()
        runs = con.execute("select status, args || message from meta.runs").fetchall()
    assert [status for status, _ in runs] == ["error"]
    no_password_anywhere(mine.stderr, *(text for _, text in runs))


# --- one consistent read ---


def test_a_load_reads_one_snapshot(
    cli, pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An order committed between reading orders and order_items is in neither raw table."""
    schema = clone_schema(pg_server, "busy_shop")
    counts = (
        f"select (select count(*) from {schema}.orders), "
        f"(select count(*) from {schema}.order_items)"
    )
    counts_before = pg_server.execute(counts)[0]
    stage = PostgresSource.stage

    def stage_then_a_customer_orders(self: PostgresSource, wh: Any, table: Any, target: str) -> int:
        rows = stage(self, wh, table, target)
        if table.name == "orders":
            pg_server.execute(
                f"insert into {schema}.orders (order_id, user_id, created_at, status) "
                "values ('late-order', 'someone', now(), 'preparing')",
                f"insert into {schema}.order_items values ('late-order', 'some-product', 1)",
            )
        return rows

    monkeypatch.setattr(PostgresSource, "stage", stage_then_a_customer_orders)
    db = tmp_path / "w.duckdb"
    result = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert result.exit_code == 0, result.stderr
    counts_after = pg_server.execute(counts)[0]
    assert counts_after == (counts_before[0] + 1, counts_before[1] + 1)  # the insert happened
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute(
            "select (select count(*) from raw.orders), (select count(*) from raw.order_items), "
            "(select count(*) from raw.order_items where order_id = 'late-order')"
        ).fetchone()
    assert loaded == (counts_before[0], counts_before[1], 0)


def test_the_read_is_one_repeatable_read_read_only_transaction(pg_server: PgServer) -> None:
    from conftest import raw_table

    source = PostgresSource(pg_server.url())
    source.check((raw_table("products"),))
    try:
        settings = source._query(
            "select current_setting('transaction_isolation'), "
            "current_setting('transaction_read_only'), pg_backend_pid()"
        )
        with pytest.raises(Exception, match="read-only transaction"):
            source._query("update products set inventory = 0")
    finally:
        source.close()
    assert settings[0][:2] == ("repeatable read", "on")
    pid = settings[0][2]
    for _ in range(50):  # the backend exits just after the client closes
        if pg_server.execute(f"select count(*) from pg_stat_activity where pid = {pid}") == [(0,)]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the connection was not closed")


# --- the nightly snapshot reads the live products table ---


def current_products(db: str) -> dict[str, tuple[Any, ...]]:
    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute(
            "select product_id, name, price, inventory from snapshots.products_snapshot "
            "where valid_to is null and not is_deleted"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_an_update_in_postgres_then_snapshot_records_exactly_those_changes(
    cli, pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip(
        "greenery_cli.snapshot", reason="the snapshot engine (issue 3) is not on this branch yet"
    )
    schema = clone_schema(pg_server, "stock_take")
    db = str(tmp_path / "w.duckdb")
    assert cli("--db", db, "load", "--source", pg_server.url(schema)).exit_code == 0
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # the remembered source has none, by design
    first = cli("--db", db, "snapshot", "--at", "2026-01-01T06:00:00Z")
    assert first.exit_code == 0, first.stderr
    before = current_products(db)
    assert len(before) == 30
    stocked = [pid for pid, (_, _, inventory) in sorted(before.items()) if inventory > 0]
    restocked, sold_out = stocked[:2], stocked[2]
    pg_server.execute(
        f"update {schema}.products set inventory = inventory + 7 "
        f"where product_id in ('{restocked[0]}', '{restocked[1]}')",
        f"update {schema}.products set inventory = 0 where product_id = '{sold_out}'",
    )
    expected = dict(before)
    for pid in restocked:
        expected[pid] = (*before[pid][:2], before[pid][2] + 7)
    expected[sold_out] = (*before[sold_out][:2], 0)

    # the source again given with its password: neither the run log nor the snapshot keeps it
    second = cli("--db", db, "snapshot", "--source", pg_server.url(schema), "--at", "2026-01-08")
    assert second.exit_code == 0, second.stderr
    assert current_products(db) == expected
    with duckdb.connect(db, read_only=True) as con:
        run_id, opened, closed, deleted, source = con.execute(
            "select snapshot_run_id, rows_opened, rows_closed, rows_deleted, source "
            "from snapshots.snapshot_runs order by snapshot_run_id desc limit 1"
        ).fetchone()
        closed_rows = con.execute(
            "select product_id, inventory from snapshots.products_snapshot where closed_by_run = ?",
            [run_id],
        ).fetchall()
        opened_rows = con.execute(
            "select product_id, inventory from snapshots.products_snapshot where opened_by_run = ?",
            [run_id],
        ).fetchall()
    changed = {*restocked, sold_out}
    assert (opened, closed, deleted) == (3, 3, 0)
    assert dict(closed_rows) == {pid: before[pid][2] for pid in changed}
    assert dict(opened_rows) == {pid: expected[pid][2] for pid in changed}
    assert source == pg_server.url(schema, password=None)
    no_password_anywhere(second.stdout, second.stderr, *meta_texts(Path(db)))


# --- incremental reads of an append-only table ---


def test_an_incremental_column_reads_only_new_rows_and_equals_a_full_load(
    cli, pg_server: PgServer, pg_loaded_warehouse: Path, tmp_path: Path
) -> None:
    """events declares incremental_column created_at: the second load reads only the rows from
    the newest loaded on, appends the new ones, and ends equal to a full load."""
    schema = clone_schema(
        pg_server,
        "growing_shop",
        "create table held as select * from events where created_at >= '2021-02-11 12:00+00'",
        "delete from events where created_at >= '2021-02-11 12:00+00'",
    )
    db = tmp_path / "w.duckdb"
    first = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert first.exit_code == 0, first.stderr
    pg_server.execute(f"insert into {schema}.events select * from {schema}.held")
    second = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert second.exit_code == 0, second.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        added, action = con.execute(
            "select rows_added, action from meta.loads where table_name = 'events' "
            "order by run_id desc limit 1"
        ).fetchone()
        rebuilt = con.execute(
            "select count(*) from meta.model_builds where action <> 'skipped' "
            "and run_id = (select max(run_id) from meta.model_builds)"
        ).fetchone()[0]
    held = pg_server.execute(f"select count(*) from {schema}.held")[0][0]
    assert (added, action) == (held, "appended")
    assert rebuilt == 0  # the shop's event models are views: nothing to rebuild
    got, expected = contents(db), contents(pg_loaded_warehouse)
    assert {k: v for k, v in got.items() if not k.startswith("meta.")} == {
        k: v for k, v in expected.items() if not k.startswith("meta.")
    }
    # a held row edited in place breaks the append-only promise: refused, naming the row
    newest = pg_server.execute(
        f"select event_id from {schema}.events order by created_at desc limit 1"
    )
    pg_server.execute(
        f"update {schema}.events set page_url = 'edited' where event_id = '{newest[0][0]}'"
    )
    refused = cli("--db", str(db), "load", "--source", pg_server.url(schema))
    assert refused.exit_code == ExitCode.WORK_FAILED
    assert newest[0][0] in refused.stderr and "changed after greenery loaded them" in refused.stderr
