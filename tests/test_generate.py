"""`greenery generate`: contract-exact, deterministic, real-shaped sample data."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import RAW_TABLES, run_cli

import greenery_cli.generate as generate_module
from greenery_cli.generate import GenerateSettings, Sizes, generate

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
# how close scale 1 must come to the real export (seed 0 and a few others were checked)
RATE_TOLERANCE = 0.03  # funnel reach rates, absolute
PER_SESSION_TOLERANCE = 0.08  # events and page views per session, relative


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(GenerateSettings(out=out))
    return out


@pytest.fixture(scope="session")
def sample_db(sample: Path) -> duckdb.DuckDBPyConnection:
    """The sample's raw files as views, read with the real exports' formats."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in RAW_TABLES:
        con.execute(
            f"create view {table.name} as select * from read_csv('{sample}/raw/{table.name}.csv', "
            "header = true, nullstr = '')"
        )
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return con.execute(sql).fetchall()[0][0]


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_sample_loads_and_passes_the_data_tests(sample: Path) -> None:
    loaded = run_cli("--db", "sample.duckdb", "load", "--source", str(sample / "raw"))
    assert loaded.exit_code == 0, loaded.stderr
    tested = run_cli("--db", "sample.duckdb", "test", "--format", "json")
    assert tested.exit_code == 0, tested.stdout + tested.stderr
    assert '"fail"' not in tested.stdout


def test_scale_one_has_the_real_shops_size(
    sample: Path, sample_db: duckdb.DuckDBPyConnection
) -> None:
    counts = {t.name: one(sample_db, f"select count(*) from {t.name}") for t in RAW_TABLES}
    assert counts["users"] == 130
    assert counts["addresses"] == 150
    assert counts["products"] == 30
    assert counts["promos"] == 6
    assert counts["orders"] == 361
    assert one(sample_db, "select count(distinct session_id) from events") == 578
    assert 3000 <= counts["events"] <= 4000
    assert 700 <= counts["order_items"] <= 1000


def test_files_have_the_real_exports_format(sample: Path) -> None:
    for table in RAW_TABLES:
        data = (sample / "raw" / f"{table.name}.csv").read_bytes()
        header = data.split(b"\n", 1)[0].rstrip(b"\r").decode()
        assert header.split(",") == list(table.columns), table.name
        assert not data.endswith(b"\n"), f"{table.name} ends with a line break"
        crlf = table.name in {"users", "promos", "order_items"}
        assert (b"\r\n" in data) == crlf, table.name
        assert b'""' not in data, f"{table.name}: empty strings must be NULLs (empty fields)"
    users = read_rows(sample / "raw" / "users.csv")
    assert all(UUID.match(u["user_id"]) and UUID.match(u["address_id"]) for u in users)
    assert all(ISO_Z.match(u["created_at"]) and ISO_Z.match(u["updated_at"]) for u in users)
    orders = read_rows(sample / "raw" / "orders.csv")
    for order in orders:
        for column in ("created_at", "estimated_delivery_at", "delivered_at"):
            assert order[column] == "" or ISO_Z.match(order[column]), order
    promos = read_rows(sample / "raw" / "promos.csv")
    assert all(re.match(r"^[A-Za-z][A-Za-z -]+$", p["promo_id"]) for p in promos)
    assert {p["status"] for p in promos} == {"active", "inactive"}


def test_events_carry_the_right_ids_and_urls(sample_db: duckdb.DuckDBPyConnection) -> None:
    rows = sample_db.execute(
        "select event_type, regexp_replace(page_url, '[0-9a-f-]{36}$', 'ID'), "
        "count(order_id), count(product_id), count(*), "
        "count(*) filter (where page_url like '%' || coalesce(order_id, product_id)) "
        "from events group by all order by all"
    ).fetchall()
    assert [r[:2] for r in rows] == [
        ("add_to_cart", "https://greenery.com/product/ID"),
        ("checkout", "https://greenery.com/checkout/ID"),
        ("package_shipped", "https://greenery.com/shipping/ID"),
        ("page_view", "https://greenery.com/product/ID"),
    ]
    for event_type, _, with_order, with_product, total, url_matches in rows:
        carries_product = event_type in ("page_view", "add_to_cart")
        assert (with_product, with_order) == ((total, 0) if carries_product else (0, total))
        assert url_matches == total


def test_sessions_view_several_products_and_cart_what_they_viewed(
    sample_db: duckdb.DuckDBPyConnection,
) -> None:
    assert (
        one(
            sample_db,
            "select count(*) from (select session_id from events group by 1 "
            "having count(distinct user_id) > 1)",
        )
        == 0
    )
    assert (
        one(
            sample_db,
            "select max(n) from (select count(*) filter "
            "(where event_type = 'page_view') as n from events group by session_id)",
        )
        >= 5
    )
    carted_unviewed = one(
        sample_db,
        """
        select count(*) from events a where event_type = 'add_to_cart' and not exists (
            select 1 from events v where v.session_id = a.session_id and v.event_type = 'page_view'
              and v.product_id = a.product_id and v.created_at <= a.created_at)""",
    )
    assert carted_unviewed == 0


def test_checkouts_match_orders_and_their_items(sample_db: duckdb.DuckDBPyConnection) -> None:
    # one checkout per order, in a session of the order's user, just before the order
    assert (
        one(
            sample_db,
            """
        select count(*) from orders o join events e on e.order_id = o.order_id
        where e.event_type = 'checkout' and e.user_id = o.user_id
          and e.created_at between o.created_at - interval 5 second and o.created_at""",
        )
        == 361
    )
    assert one(sample_db, "select count(*) from events where event_type = 'checkout'") == 361
    # the order's items are exactly the products its session added to cart
    mismatched = one(
        sample_db,
        """
        with carted as (
            select distinct c.order_id, a.product_id from events c
            join events a on a.session_id = c.session_id and a.event_type = 'add_to_cart'
            where c.event_type = 'checkout'),
        items as (select order_id, product_id from order_items)
        select (select count(*) from (select * from carted except select * from items))
             + (select count(*) from (select * from items except select * from carted))""",
    )
    assert mismatched == 0
    assert (
        one(
            sample_db,
            """
        select count(*) from orders o join events e using (order_id)
        where e.event_type = 'add_to_cart' or e.created_at > o.created_at
          and e.event_type = 'checkout'""",
        )
        == 0
    )


def test_money_shipping_and_times_are_consistent(sample_db: duckdb.DuckDBPyConnection) -> None:
    assert (
        one(
            sample_db,
            """
        select count(*) from (
            select o.order_id, any_value(o.order_cost) as cost, sum(i.quantity * p.price) as items
            from orders o join order_items i using (order_id) join products p using (product_id)
            group by all) where abs(cost - items) >= 0.005""",
        )
        == 0
    )
    shipped = sample_db.execute("""
        select o.status, count(*), count(e.event_id), count(o.tracking_id),
               count(o.shipping_service), count(o.delivered_at),
               count(*) filter (where e.created_at <= o.created_at),
               count(*) filter (where o.delivered_at <= e.created_at)
        from orders o left join events e on e.order_id = o.order_id
             and e.event_type = 'package_shipped'
        group by all order by all""").fetchall()
    by_status = {row[0]: row[1:] for row in shipped}
    n = by_status["preparing"][0]
    assert by_status["preparing"] == (n, 0, 0, 0, 0, 0, 0)
    n = by_status["shipped"][0]
    assert by_status["shipped"] == (n, n, n, n, 0, 0, 0)
    n = by_status["delivered"][0]
    assert by_status["delivered"] == (n, n, n, n, n, 0, 0)
    promo_share = one(sample_db, "select avg((promo_id is not null)::int) from orders")
    assert 0.05 <= promo_share <= 0.2
    assert (
        one(
            sample_db,
            """
        select count(*) from events e join users u using (user_id)
        where e.created_at < u.created_at or u.updated_at < u.created_at""",
        )
        == 0
    )


def test_weekly_product_states(sample: Path) -> None:
    weeks = sample / "inventory-weeks"
    assert (weeks / "products_week1.csv").read_bytes() == (
        sample / "raw" / "products.csv"
    ).read_bytes()
    schedule = read_rows(weeks / "schedule.csv")
    assert [r["file"] for r in schedule] == [f"products_week{w}.csv" for w in range(1, 5)]
    moments = [datetime.fromisoformat(r["snapshot_at"].replace("Z", "+00:00")) for r in schedule]
    assert all(b - a == timedelta(days=7) for a, b in zip(moments, moments[1:], strict=False))
    paths: dict[str, list[int]] = {}
    for row in schedule:
        for product in read_rows(weeks / row["file"]):
            paths.setdefault(product["product_id"], []).append(int(product["inventory"]))
    changes = {p: sum(a != b for a, b in zip(v, v[1:], strict=False)) for p, v in paths.items()}
    steady = [p for p, n in changes.items() if n == 0]
    assert len(steady) > len(paths) / 2, "most products stay steady"
    assert any(n >= 2 for n in changes.values()), "some change most weeks"
    came_back = [v for v in paths.values() if 0 in v[1:-1] and v[v.index(0) + 1] > 0]
    assert came_back, "a product hits zero and is restocked"
    assert all(v[0] > 0 for v in paths.values())


def test_same_seed_same_bytes_other_seed_other_bytes(sample: Path, tmp_path: Path) -> None:
    generate(GenerateSettings(out=tmp_path / "again"))
    assert digest(tmp_path / "again") == digest(sample)
    generate(GenerateSettings(out=tmp_path / "other", seed=1))
    other = digest(tmp_path / "other")
    assert all(other[name] != sha for name, sha in digest(sample).items() if "schedule" not in name)


def test_chunked_writes_give_the_same_bytes(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many small chunks (as at scale 10,000) must concatenate to the one-chunk files."""
    monkeypatch.setattr(
        generate_module, "CHUNK_ROWS", {"events": 37, "orders": 50, "order_items": 41}
    )
    monkeypatch.setattr(generate_module, "DEFAULT_CHUNK_ROWS", 7)
    generate(GenerateSettings(out=tmp_path / "chunked"))
    assert digest(tmp_path / "chunked") == digest(sample)
    generate(GenerateSettings(out=tmp_path / "chunked-pq", fmt="parquet"))
    monkeypatch.undo()
    generate(GenerateSettings(out=tmp_path / "whole-pq", fmt="parquet"))
    con = duckdb.connect()
    for table in RAW_TABLES:
        # same rows in the same order, whether merged from parts or written at once
        chunked, whole = (
            con.execute(
                f"select * from read_parquet('{tmp_path / d}/raw/{table.name}.parquet')"
            ).fetchall()
            for d in ("chunked-pq", "whole-pq")
        )
        assert chunked == whole, table.name


def test_parquet_is_deterministic_and_loads_like_csv(sample: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "pq1", tmp_path / "pq2"
    generate(GenerateSettings(out=first, fmt="parquet"))
    generate(GenerateSettings(out=second, fmt="parquet"))
    assert digest(first) == digest(second)
    assert sorted(p.name for p in (first / "raw").iterdir()) == sorted(
        f"{t.name}.parquet" for t in RAW_TABLES
    )
    for name, source in (("csv", sample / "raw"), ("pq", first / "raw")):
        result = run_cli("--db", f"{name}.duckdb", "load", "--source", str(source))
        assert result.exit_code == 0, result.stderr
    con = duckdb.connect("pq.duckdb")
    con.execute("attach 'csv.duckdb' as c (read_only)")
    for table in RAW_TABLES:
        differ = one(
            con,
            f"select count(*) from (select * from raw.{table.name} "
            f"except select * from c.raw.{table.name})",
        )
        assert differ == 0, table.name


def test_scale_products_and_weeks_set_the_counts(tmp_path: Path) -> None:
    result = run_cli(
        "generate",
        str(tmp_path / "big"),
        "--scale",
        "2",
        "--products",
        "45",
        "--weeks",
        "6",
        "--seed",
        "5",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    raw = tmp_path / "big" / "raw"
    sizes = Sizes.of(GenerateSettings(out=tmp_path, scale=2, products=45))
    assert (sizes.users, sizes.addresses, sizes.sessions, sizes.orders) == (260, 300, 1156, 722)
    assert len(read_rows(raw / "users.csv")) == 260
    assert len(read_rows(raw / "addresses.csv")) == 300
    assert len(read_rows(raw / "orders.csv")) == 722
    assert len({e["session_id"] for e in read_rows(raw / "events.csv")}) == 1156
    assert len(read_rows(raw / "products.csv")) == 45
    names = [p["name"] for p in read_rows(raw / "products.csv")]
    assert len(set(names)) == 45
    weeks = tmp_path / "big" / "inventory-weeks"
    assert sorted(p.name for p in weeks.iterdir()) == sorted(
        [f"products_week{w}.csv" for w in range(1, 7)] + ["schedule.csv"]
    )
    assert all(len(read_rows(weeks / f"products_week{w}.csv")) == 45 for w in range(1, 7))


def test_a_large_catalogue_keeps_names_distinct(tmp_path: Path) -> None:
    generate(GenerateSettings(out=tmp_path, scale=0.05, products=2000, weeks=2))
    names = [p["name"] for p in read_rows(tmp_path / "raw" / "products.csv")]
    assert len(names) == 2000 and len(set(names)) == 2000


def test_rerun_in_another_format_replaces_the_files(tmp_path: Path) -> None:
    generate(GenerateSettings(out=tmp_path, weeks=5))
    generate(GenerateSettings(out=tmp_path, fmt="parquet", weeks=3))
    assert not list((tmp_path / "raw").glob("*.csv"))
    assert sorted(p.name for p in (tmp_path / "inventory-weeks").iterdir()) == [
        "products_week1.csv",
        "products_week2.csv",
        "products_week3.csv",
        "schedule.csv",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp files left"


def test_an_interrupted_run_leaves_the_earlier_files(
    sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(sample, tmp_path / "out")
    before = digest(tmp_path / "out")
    real_write = generate_module._Writer.write

    def failing(self: Any, table: str, *args: Any) -> int:
        if table == "events":
            raise KeyboardInterrupt
        return int(real_write(self, table, *args))

    monkeypatch.setattr(generate_module._Writer, "write", failing)
    with pytest.raises(KeyboardInterrupt):
        generate(GenerateSettings(out=tmp_path / "out", seed=3, weeks=2))
    assert digest(tmp_path / "out") == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["inventory-weeks", "raw"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "0"], "--scale"),
        (["--weeks", "0"], "--weeks"),
        (["--products", "0"], "--products"),
        (["--file-format", "json"], "--file-format"),
    ],
)
def test_bad_options_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("generate", str(tmp_path / "out"), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def funnel_shape(raw: Path) -> dict[str, float]:
    con = duckdb.connect()
    events = f"read_csv('{raw}/events.csv', header = true)"
    row = con.execute(f"""
        with s as (
            select session_id, count(*) as events,
                   count(*) filter (where event_type = 'page_view') as page_views,
                   bool_or(event_type = 'add_to_cart') as carted,
                   bool_or(event_type = 'checkout') as checked_out
            from {events} group by session_id)
        select avg(carted::int), avg(checked_out::int), avg(events), avg(page_views) from s
    """).fetchall()[0]
    return dict(zip(("cart_rate", "checkout_rate", "events", "page_views"), row, strict=True))


def test_funnel_and_session_shape_near_the_real_exports(sample: Path, real_data: Path) -> None:
    real, generated = funnel_shape(real_data / "raw"), funnel_shape(sample / "raw")
    for rate in ("cart_rate", "checkout_rate"):
        assert abs(generated[rate] - real[rate]) <= RATE_TOLERANCE, (rate, generated, real)
    for per_session in ("events", "page_views"):
        ratio = generated[per_session] / real[per_session]
        assert abs(ratio - 1) <= PER_SESSION_TOLERANCE, (per_session, generated, real)
