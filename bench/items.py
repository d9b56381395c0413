"""The work items: each a small declaration of what it measures, its answer check, and every
contender's plan (untimed set-up, commands, answer extraction) on one dataset.

To add a work item, write a function `(Dataset) -> {contender: Plan}` under `@work_item(...)`:
leave out a contender that cannot do the work; give `requires` where greenery cannot do it yet
(the item is then listed as skipped, with the reason), and `expected` where the right answer can
be worked out from the data itself (otherwise every contender must answer as greenery does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contenders.greenery import QUESTIONS
from datasets import CHANGED_AT, Dataset, copy_db, export_file, reader, remove_db
from measure import Plan, Step, run_untimed, shown

Plans = dict[str, Plan]


@dataclass(frozen=True)
class Item:
    key: str  # for --items
    title: str  # as BENCHMARKS.md shows it
    measures: str  # what it measures (BENCHMARKS.md)
    check: str  # how every run's answer is checked (BENCHMARKS.md)
    plans: Callable[[Dataset], Plans]
    kinds: tuple[str, ...]  # the kinds of dataset it runs on: shop, catalogue, cli
    requires: Callable[[Dataset], str | None] | None  # why it cannot run yet, or None
    expected: Callable[[Dataset], object] | None  # the right answer, from the data itself
    min_repeat: int = 1


ITEMS: dict[str, Item] = {}


def work_item(
    key: str,
    title: str,
    measures: str,
    check: str,
    kinds: tuple[str, ...] = ("shop",),
    requires: Callable[[Dataset], str | None] | None = None,
    expected: Callable[[Dataset], object] | None = None,
    min_repeat: int = 1,
) -> Callable[[Callable[[Dataset], Plans]], Callable[[Dataset], Plans]]:
    def register(plans: Callable[[Dataset], Plans]) -> Callable[[Dataset], Plans]:
        ITEMS[key] = Item(key, title, measures, check, plans, kinds, requires, expected, min_repeat)
        return plans

    return register


def plan(
    *steps: Step, answer: Callable[[str], object], setup: Callable[[], object] | None = None
) -> Plan:
    return Plan(steps, answer, shown(*steps), setup)


def query_one(db: Path | None, sql: str) -> list[Any]:
    """One row of a read-only query of a contender's warehouse (answer extraction, untimed);
    db None: of files, in memory."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True) if db else duckdb.connect()
    row = con.execute(sql).fetchall()[0]
    con.close()
    return list(row)


def fresh(db: Path) -> Callable[[], None]:
    return lambda: remove_db(db)


# --- loads ---------------------------------------------------------------------------------------

LOADED = (
    "select (select count(*) from {events}), (select count(*) from {orders}), "
    "(select count(*) from {products}), (select count(distinct session_id) from {events})"
)
RAW = {"events": "raw.events", "orders": "raw.orders", "products": "raw.products"}
DBT_STAGING = {"events": "stg_events", "orders": "stg_orders", "products": "stg_products"}
LOAD_CHECK = (
    "rows of events, orders and products and the number of sessions in the warehouse (greenery's "
    "and the hand-written raw.*, dbt's staging views), equal to those of the files themselves"
)


def loaded(db: Path, tables: dict[str, str]) -> Callable[[str], object]:
    return lambda _out: query_one(db, LOADED.format(**tables))


def files_loaded(ds: Dataset) -> object:
    files = {t: reader(export_file(ds.raw, t)) for t in ("events", "orders", "products")}
    return query_one(None, LOADED.format(**files))


@work_item(
    "load",
    "load",
    measures="a full load from files into a new warehouse. greenery: `load` (raw tables with key "
    "checks, seeds, every model, run log); hand-written: the seven raw tables read with the "
    "contract's types into a new DuckDB file in one transaction (issue 15's limit); dbt: `dbt "
    "build` into a new file (snapshot, models and data tests over the files)",
    check=LOAD_CHECK,
    expected=files_loaded,
)
def load(ds: Dataset) -> Plans:
    g, h, d = ds.c.greenery, ds.c.hand, ds.c.dbt
    gdb, hdb, ddb = ds.db("load-greenery"), ds.db("load-hand"), ds.db("load-dbt")
    plans = {
        "greenery": plan(g.load(gdb, ds.raw), answer=loaded(gdb, RAW), setup=fresh(gdb)),
        "hand-written": plan(h.load(hdb, ds.raw), answer=loaded(hdb, RAW), setup=fresh(hdb)),
    }
    if d:
        plans["dbt"] = plan(
            d.step(ddb, ds.raw, "build"), answer=loaded(ddb, DBT_STAGING), setup=fresh(ddb)
        )
    return plans


@work_item(
    "reload",
    "reload, nothing changed",
    measures="the same load again over a warehouse that already holds exactly these files "
    "(issue 15: greenery should build nothing; today it reloads everything). dbt: `dbt build` "
    "again (dbt rebuilds every model); no hand-written contender (the target is a share of the "
    "full load's time)",
    check=LOAD_CHECK,
    expected=files_loaded,
)
def reload(ds: Dataset) -> Plans:
    g, d = ds.c.greenery, ds.c.dbt
    gdb = ds.db("reload-greenery")
    copy_db(ds.greenery_history, gdb)  # reloading the same files leaves it as it was: no set-up
    plans = {"greenery": plan(g.load(gdb, ds.raw), answer=loaded(gdb, RAW))}
    if d:
        ddb = ds.db("reload-dbt")
        remove_db(ddb)
        step = d.step(ddb, ds.raw, "build")
        run_untimed(step)
        plans["dbt"] = plan(step, answer=loaded(ddb, DBT_STAGING))
    return plans


@work_item(
    "hourly-refresh",
    "hourly refresh, 1% new events",
    measures="issue 15's hourly refresh: events are a folder of files; a new file with the newest "
    "1% of events arrives and greenery loads what changed. Only greenery (dbt's peer project "
    "reads one file per table and has no incremental model)",
    check=LOAD_CHECK,
    requires=lambda ds: ds.c.greenery.has_build_engine(),
    expected=files_loaded,
)
def hourly_refresh(ds: Dataset) -> Plans:
    source, newest, base = ds.hourly
    gdb = ds.db("hourly-greenery")
    arrived = source / "events" / newest.name

    def setup() -> None:
        copy_db(base, gdb)
        if not arrived.is_symlink():
            arrived.symlink_to(newest)

    return {"greenery": plan(ds.c.greenery.load(gdb, source), answer=loaded(gdb, RAW), setup=setup)}


@work_item(
    "files-to-funnel",
    "new files -> funnel --by-step",
    measures="from new files to the funnel answer, into a new warehouse. greenery: `load` (with "
    "`--select +fct_funnel_events` once it exists) then `funnel --by-step`; hand-written: events "
    "read into a new DuckDB file, then the hand-written funnel; dbt: `dbt run --select "
    "+fct_product_funnel` then a query of its result (a Python process of dbt's environment)",
    check="sessions at each step (page_view, add_to_cart, checkout) equal greenery's",
)
def files_to_funnel(ds: Dataset) -> Plans:
    g, h, d = ds.c.greenery, ds.c.hand, ds.c.dbt
    gdb, hdb, ddb = ds.db("funnel-greenery"), ds.db("funnel-hand"), ds.db("funnel-dbt")
    by_step = QUESTIONS["funnel --by-step"][1]
    plans = {
        "greenery": plan(
            g.load_for_funnel(gdb, ds.raw),
            g.question("funnel --by-step", gdb),
            answer=lambda out: by_step(_json(out)),
            setup=fresh(gdb),
        ),
        "hand-written": plan(
            h.funnel_from_files(hdb, ds.raw),
            answer=lambda out: [r[1] for r in _json(out)["funnel_by_step"]],
            setup=fresh(hdb),
        ),
    }
    if d:
        plans["dbt"] = plan(
            d.step(ddb, ds.raw, "run", "--select", "+fct_product_funnel"),
            d.query(ddb, "select sessions from fct_product_funnel order by step"),
            answer=lambda out: [r[0] for r in _json(out)],
            setup=fresh(ddb),
        )
    return plans


def _json(text: str) -> Any:
    import json

    return json.loads(text)


# --- the weekly snapshot -------------------------------------------------------------------------

CURRENT = (
    "select count(*) filter (where {current}), count(*), "
    "sum(inventory) filter (where {current}) from {table}"
)
GREENERY_CURRENT = {
    "current": "valid_to is null and not is_deleted",
    "table": "snapshots.products_snapshot",
}
DBT_CURRENT = {"current": "dbt_valid_to is null", "table": "main_snapshots.products_snapshot"}


def snapshot_expected(ds: Dataset) -> object:
    _, changed, n_changed, n_all = ds.snapshot_sources
    file = next(changed.iterdir())
    total = query_one(None, f"select sum(inventory) from {reader(file)}")[0]
    return [n_all, n_all + n_changed, total]


@work_item(
    "snapshot",
    "snapshot, 10% changed",
    measures="the weekly snapshot: every 10th product (by id) has a new inventory, over a "
    "warehouse holding the first snapshot of all products. greenery: `snapshot --at` (with its "
    "validation and invariant checks); hand-written: bench/handwritten/snapshot_merge.sql on a "
    "copy of greenery's warehouse (no checks); dbt: `dbt snapshot` (strategy check on inventory)",
    check="current versions, all versions and the current inventory's sum, equal to those "
    "worked out from the products file (all products current, 10% more versions)",
    kinds=("shop", "catalogue"),
    expected=snapshot_expected,
)
def snapshot(ds: Dataset) -> Plans:
    g, h, d = ds.c.greenery, ds.c.hand, ds.c.dbt
    _, changed, _, _ = ds.snapshot_sources
    base = ds.greenery_snapshot_base
    gdb, hdb, ddb = ds.db("snapshot-greenery"), ds.db("snapshot-hand"), ds.db("snapshot-dbt")
    products = changed / ds.products.name

    def current(db: Path, columns: dict[str, str]) -> Callable[[str], object]:
        return lambda _out: query_one(db, CURRENT.format(**columns))

    plans = {
        "greenery": plan(
            g.snapshot(gdb, changed, CHANGED_AT),
            answer=current(gdb, GREENERY_CURRENT),
            setup=lambda: copy_db(base, gdb),
        ),
        "hand-written": plan(
            h.snapshot(hdb, products, CHANGED_AT),
            answer=current(hdb, GREENERY_CURRENT),
            setup=lambda: copy_db(base, hdb),
        ),
    }
    if d:
        dbase = ds.dbt_snapshot_base
        plans["dbt"] = plan(
            d.step(ddb, changed, "snapshot"),
            answer=current(ddb, DBT_CURRENT),
            setup=lambda: copy_db(dbase, ddb),
        )
    return plans


# --- questions on a built warehouse --------------------------------------------------------------

HAND_ANSWERS: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], object]]] = {
    "funnel --by-step": (("funnel_by_step",), lambda q: [r[1] for r in q["funnel_by_step"]]),
    "funnel --by product": (
        ("funnel_by_product",),
        lambda q: {r[0]: r[2:5] for r in q["funnel_by_product"]},
    ),
    "inventory-changes": (
        ("inventory_changes",),
        lambda q: {r[0]: r[4] for r in q["inventory_changes"]},
    ),
    "fluctuations": (
        ("fluctuations",),
        lambda q: {r[1]: r[3:5] for r in q["fluctuations"] if r[3]},
    ),
    "stockouts": (("stockouts",), lambda q: sorted({r[0] for r in q["stockouts"]})),
}
HAND_ANSWERS["report"] = (
    ("inventory_changes", "fluctuations", "stockouts", "funnel_by_step", "funnel_by_product"),
    lambda q: {
        "inventory_changes": HAND_ANSWERS["inventory-changes"][1](q),
        "fluctuations": HAND_ANSWERS["fluctuations"][1](q),
        "stockouts": HAND_ANSWERS["stockouts"][1](q),
        "funnel_by_step": HAND_ANSWERS["funnel --by-step"][1](q),
        "funnel_by_product": HAND_ANSWERS["funnel --by product"][1](q),
    },
)
DBT_ANSWERS: dict[str, tuple[str, Callable[[list[dict[str, Any]]], object]]] = {
    "funnel --by-step": ("fct_product_funnel", lambda rows: [r["sessions"] for r in rows]),
    "inventory-changes": (
        "inventory_changes_last_run",
        lambda rows: {r["product_id"]: r["inventory_change"] for r in rows},
    ),
    "fluctuations": (
        "inventory_fluctuation",
        lambda rows: {
            r["product_id"]: [r["inventory_changes"], r["total_abs_change"]]
            for r in rows
            if r["inventory_changes"]
        },
    ),
    "stockouts": ("inventory_stockouts", lambda rows: sorted({r["product_id"] for r in rows})),
}
QUESTION_CHECKS = {
    "funnel --by-step": "sessions at each step",
    "funnel --by product": "viewed, added to cart and checked out per product",
    "inventory-changes": "the change of each product between the last two snapshots",
    "fluctuations": "each changed product's number of changes and total change",
    "stockouts": "the products that were out of stock (greenery: in the last 3 weeks; dbt's "
    "peer: ever, the same over the four weekly states)",
    "report": "the answers of its five sections, as above",
}
DBT_MODELS = {q: m for q, (m, _) in DBT_ANSWERS.items()}


def question_item(name: str) -> None:
    dbt_part = (
        f"; dbt: `dbt show --select {DBT_MODELS[name]}` (the model's SELECT over dbt's built "
        "warehouse, every row)"
        if name in DBT_MODELS
        else "; no dbt contender (the peer project has no such model)"
    )

    @work_item(
        name.replace(" --", "-").replace(" ", "-"),
        name,
        measures=f"`greenery {' '.join(QUESTIONS[name][0])} --format json` on the warehouse "
        "loaded from the dataset with its weekly product states replayed as snapshots; "
        f"hand-written: bench/handwritten/{'*' if name == 'report' else HAND_ANSWERS[name][0][0]}"
        f".sql on the same warehouse, read-only{dbt_part}",
        check=QUESTION_CHECKS[name] + ", equal to greenery's",
    )
    def question(ds: Dataset) -> Plans:
        db = ds.greenery_history
        names, hand_answer = HAND_ANSWERS[name]
        plans = {
            "greenery": ds.c.greenery.question_plan(name, db),
            "hand-written": ds.c.hand.query_plan(db, names, hand_answer),
        }
        if ds.c.dbt and name in DBT_ANSWERS:
            model, dbt_answer = DBT_ANSWERS[name]
            plans["dbt"] = ds.c.dbt.show_plan(ds.dbt_history, ds.raw, model, dbt_answer)
        return plans


for _question in QUESTIONS:
    question_item(_question)


# --- start-up ------------------------------------------------------------------------------------


@work_item(
    "startup",
    "greenery --help",
    measures="start-up: `greenery --help` (imports no duckdb or polars); hand-written: `python "
    "-c pass`, the interpreter's own start-up; dbt: `dbt --help`",
    check="none beyond exit code 0 (there is no answer)",
    kinds=("cli",),
    min_repeat=10,
)
def startup(ds: Dataset) -> Plans:
    import sys

    plans = {
        "greenery": plan(ds.c.greenery.help(), answer=lambda out: "Usage:" in out),
        "hand-written": plan(Step((sys.executable, "-c", "pass")), answer=lambda out: True),
    }
    if ds.c.dbt:
        step = Step((str(ds.c.dbt.venv / "bin" / "dbt"), "--help"), ds.c.dbt.base_env)
        plans["dbt"] = plan(step, answer=lambda out: "Usage:" in out)
    return plans
