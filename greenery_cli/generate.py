"""`greenery generate`: greenery-shaped sample data of any size, the same bytes for the same seed.

Every value is a pure function of (seed, table, row index, salt) computed in DuckDB SQL
(queries/generate/), so tables are written in chunks of rows with bounded memory and no row
ever passes through Python. Foreign keys are recomputed from the referenced row's index, never
looked up, so referential integrity holds by construction at any scale.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenery_cli import interrupts
from greenery_cli.errors import UsageError
from greenery_cli.progress import Progress, progress
from greenery_cli.project.sources import RawTable
from greenery_cli.sql import render

if TYPE_CHECKING:
    import duckdb

FORMATS = ("csv", "parquet")
# the real shop's size, which scale 1 reproduces
USERS_PER_SCALE = 130
ADDRESSES_PER_SCALE = 150
SESSIONS_PER_SCALE = 578
ORDERS_PER_SCALE = 361  # sessions that check out
CART_ONLY_PER_SCALE = 106  # sessions that add to cart but do not check out
DEFAULT_PRODUCTS = 30
PROMOS = 6
STOCKOUT_SHARE = 0.066  # products that hit zero one week and are restocked the next
CHANGING_SHARE = 0.166  # products sold and restocked most weeks; the rest stay steady
# the data's time frame: sessions over two days, and one snapshot a week from two weeks before
# them, so week 3's snapshot falls inside the sessions: the history knows the stock at every view
# (the funnel's out-of-stock columns) and a week-2 or week-3 stockout overlaps the sessions
WINDOW_START = datetime(2021, 2, 10, tzinfo=UTC)
WINDOW_SECONDS = 2 * 86400
FIRST_SNAPSHOT_AT = datetime(2021, 1, 28, 6, tzinfo=UTC)
# rows (of the driving index: sessions for events, orders for order_items) per chunk
CHUNK_ROWS = {"events": 50_000, "orders": 100_000, "order_items": 100_000}
DEFAULT_CHUNK_ROWS = 250_000
# the real exports end users, promos and order_items lines with CRLF, the others with LF
CRLF_TABLES = frozenset({"users", "promos", "order_items"})
TABLE_ORDER = ("addresses", "users", "promos", "products", "orders", "order_items", "events")
MEMORY_LIMIT = "512MB"


@dataclass(frozen=True)
class GenerateSettings:
    out: Path
    scale: float = 1.0
    seed: int = 0
    weeks: int = 4
    fmt: str = "csv"
    products: int | None = None  # None: 30, the real catalogue's size


@dataclass(frozen=True)
class Sizes:
    users: int
    addresses: int
    products: int
    promos: int
    sessions: int
    orders: int
    cart_only_sessions: int

    @classmethod
    def of(cls, settings: GenerateSettings) -> Sizes:
        k = settings.scale
        sessions = max(1, round(SESSIONS_PER_SCALE * k))
        orders = min(sessions, round(ORDERS_PER_SCALE * k))
        return cls(
            users=max(1, round(USERS_PER_SCALE * k)),
            addresses=max(1, round(ADDRESSES_PER_SCALE * k)),
            products=settings.products or DEFAULT_PRODUCTS,
            promos=PROMOS,
            sessions=sessions,
            orders=orders,
            cart_only_sessions=min(sessions - orders, round(CART_ONLY_PER_SCALE * k)),
        )


@dataclass
class GenerateResult:
    out: Path
    raw: Path
    inventory_weeks: Path
    fmt: str
    sizes: Sizes
    rows: dict[str, int] = field(default_factory=dict)
    schedule: list[tuple[int, datetime, str]] = field(default_factory=list)


def check_settings(settings: GenerateSettings) -> None:
    if settings.fmt not in FORMATS:
        raise UsageError(f"unknown format {settings.fmt!r}: choose one of {', '.join(FORMATS)}")
    if not (settings.scale > 0 and math.isfinite(settings.scale)):
        raise UsageError(f"--scale must be a positive number, not {settings.scale}")
    if settings.weeks < 1:
        raise UsageError(f"--weeks must be at least 1, not {settings.weeks}")
    if settings.products is not None and settings.products < 1:
        raise UsageError(f"--products must be at least 1, not {settings.products}")
    if settings.seed < 0 or settings.seed >= 2**62:
        raise UsageError(f"--seed must be between 0 and 2**62, not {settings.seed}")


def snapshot_schedule(weeks: int) -> list[tuple[int, datetime, str]]:
    """(week, snapshot_at, file) for each weekly product state: one a week at 06:00 UTC."""
    return [
        (w, FIRST_SNAPSHOT_AT + timedelta(days=7 * (w - 1)), f"products_week{w}.csv")
        for w in range(1, weeks + 1)
    ]


def _derived(seed: int, what: str, n: int) -> int:
    """A number in [0, n) fixed by the seed (for the permutations' parameters)."""
    digest = hashlib.sha256(f"{seed}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % max(n, 1)


def _coprime_from(n: int, start: int) -> int:
    """The first a >= start (wrapping) with gcd(a, n) = 1: a*i+b mod n is then a permutation."""
    if n <= 1:
        return 1
    a = max(start % n, 1)
    while math.gcd(a, n) != 1:
        a = a + 1 if a + 1 < n else 1
    return a


def _units(n: int, seed: int, count: int = 16) -> list[int]:
    """Up to `count` distinct strides coprime with n, for per-session product permutations."""
    if n <= 2:
        return [1]
    found: list[int] = []
    for i in range(count * 4):
        a = _coprime_from(n, _derived(seed, f"unit{i}", n))
        if a not in found:
            found.append(a)
        if len(found) == count:
            break
    return found


def _variables(settings: GenerateSettings, sizes: Sizes) -> dict[str, Any]:
    from greenery_cli import sample_words as words

    seed = settings.seed
    s, n = sizes.sessions, sizes.products
    session_a = _coprime_from(s, int(s * 0.6180339887) + _derived(seed, "session_a", s))
    product_a = _coprime_from(n, int(n * 0.6180339887) + _derived(seed, "product_a", n))
    n_stockout = min(n, max(1, round(n * STOCKOUT_SHARE))) if settings.weeks >= 2 else 0
    promo_offset = _derived(seed, "promos", len(words.PROMO_NAMES))
    promo_names = [
        words.PROMO_NAMES[(promo_offset + i) % len(words.PROMO_NAMES)] for i in range(PROMOS)
    ]
    return {
        "seed": seed,
        "n_users": sizes.users,
        "n_addresses": sizes.addresses,
        "n_products": n,
        "n_promos": sizes.promos,
        "n_sessions": s,
        "n_orders": sizes.orders,
        "n_carts": sizes.cart_only_sessions,
        "session_a": session_a,
        "session_b": _derived(seed, "session_b", s),
        "session_a_inv": pow(session_a, -1, s) if s > 1 else 0,
        "product_a": product_a,
        "product_b": _derived(seed, "product_b", n),
        "product_units": _units(n, seed),
        "n_stockout": n_stockout,
        "n_changing": min(n - n_stockout, round(n * CHANGING_SHARE)),
        "weeks": settings.weeks,
        "window_start": WINDOW_START,
        "window_seconds": WINDOW_SECONDS,
        "first_names": list(words.FIRST_NAMES),
        "last_names": list(words.LAST_NAMES),
        "email_domains": list(words.EMAIL_DOMAINS),
        "street_names": list(words.STREET_NAMES),
        "street_suffixes": list(words.STREET_SUFFIXES),
        "states": words.weighted_states(),
        "plants": list(words.PLANTS),
        "plant_offset": _derived(seed, "plants", len(words.PLANTS)),
        "varieties": list(words.VARIETIES),
        "promo_names": promo_names,
        "week": 1,
        "lo": 0,
        "hi": 0,
    }


def _set(con: duckdb.DuckDBPyConnection, name: str, value: Any) -> None:
    if isinstance(value, datetime):
        value = int(value.timestamp())
    con.execute(f"set variable {name} = ?", [value]).fetchall()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def shop_sources() -> dict[str, RawTable]:
    """The shop's raw tables as greenery's built-in project declares them: what generate writes."""
    from greenery_cli.project import builtin_root, read_project

    return {t.name: t for t in read_project(builtin_root(), "built in").sources}


def _typed(column: str, type_: str, fmt: str) -> str:
    """A contract column as the file stores it: ISO-8601 'Z' text in CSV, typed in Parquet.

    The queries give times as epoch seconds; converting them only here keeps ICU out of the way.
    """
    if type_ == "TIMESTAMPTZ" and fmt == "csv":
        return f"strftime(make_timestamp({column} * 1000000), '%Y-%m-%dT%H:%M:%SZ') as {column}"
    if type_ == "TIMESTAMPTZ":
        return f"to_timestamp({column}) as {column}"
    return f"cast({column} as {type_}) as {column}"


@dataclass
class _Writer:
    con: duckdb.DuckDBPyConnection
    fmt: str
    tmp: Path
    bar: Progress

    def write(self, table: str, template: str, count: int, target: Path, label: str) -> int:
        """Write rows 0..count-1 of `template` to target, chunk by chunk, in (_k1, _k2) order.

        CSV chunks are appended to the target as they are written (disk use stays at one
        chunk beyond the file); Parquet chunks are merged at the end.
        """
        columns = shop_sources()[table].columns
        select = ", ".join(_typed(c, t, self.fmt) for c, t in columns.items())
        sql = f"select {select} from ({render(template)}) order by _k1, _k2"
        chunk = CHUNK_ROWS.get(table, DEFAULT_CHUNK_ROWS)
        starts = list(range(0, count, chunk)) or [0]  # one (empty) chunk still writes a header
        newline = "\\r\\n" if table in CRLF_TABLES else "\\n"
        parts: list[Path] = []
        rows = 0
        with contextlib.ExitStack() as stack:
            whole = stack.enter_context(target.open("wb")) if self.fmt == "csv" else None
            for number, lo in enumerate(starts):
                _set(self.con, "lo", lo)
                _set(self.con, "hi", min(lo + chunk, count))
                part = self.tmp / f"{target.stem}-{number:06d}.{self.fmt}"
                if self.fmt == "csv":
                    header = "true" if number == 0 else "false"
                    options = f"format csv, header {header}, new_line '{newline}'"
                else:
                    options = "format parquet"
                copied = self.con.execute(f"copy ({sql}) to {_literal(part)} ({options})")
                written = copied.fetchall()
                rows += int(written[0][0]) if written else 0
                if whole is not None:
                    with part.open("rb") as piece:
                        shutil.copyfileobj(piece, whole, 1 << 20)
                    part.unlink()
                else:
                    parts.append(part)
                self.bar.advance(f"{label} {min(lo + chunk, count):,}/{count:,}")
        if self.fmt == "csv":
            _strip_final_newline(target)
        else:
            self._merge_parquet(parts, target)
        return rows

    def _merge_parquet(self, parts: list[Path], target: Path) -> None:
        if len(parts) == 1:
            os.replace(parts[0], target)
            return
        files = ", ".join(_literal(p) for p in parts)
        # a multi-file scan keeps file order and row order (preserve_insertion_order)
        self.con.execute(
            f"copy (select * from read_parquet([{files}])) to {_literal(target)} (format parquet)"
        ).fetchall()
        for part in parts:
            part.unlink()


def _strip_final_newline(path: Path) -> None:
    """The real exports' last line has no line break."""
    size = path.stat().st_size
    with path.open("rb+") as handle:
        handle.seek(max(size - 2, 0))
        tail = handle.read()
        if tail.endswith(b"\r\n"):
            handle.truncate(size - 2)
        elif tail.endswith(b"\n"):
            handle.truncate(size - 1)


def _chunks(table: str, count: int) -> int:
    return max(1, math.ceil(count / CHUNK_ROWS.get(table, DEFAULT_CHUNK_ROWS)))


def _clear_stale(raw: Path, weeks_dir: Path, fmt: str, weeks: int) -> None:
    """Remove files an earlier run in another format or with more weeks left behind."""
    other = "parquet" if fmt == "csv" else "csv"
    for table in TABLE_ORDER:
        (raw / f"{table}.{other}").unlink(missing_ok=True)
    for old in weeks_dir.glob("products_week*.csv"):
        number = old.stem.removeprefix("products_week")
        if not number.isdigit() or int(number) > weeks:
            old.unlink()


def generate(settings: GenerateSettings) -> GenerateResult:
    import duckdb

    from greenery_cli.errors import disk_full

    check_settings(settings)
    sizes = Sizes.of(settings)
    out = Path(settings.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    for sub in ("raw", "inventory-weeks"):
        if (out / sub).exists() and not (out / sub).is_dir():
            raise UsageError(f"{out / sub} exists and is not a folder")
    raw, weeks_dir = out / "raw", out / "inventory-weeks"
    result = GenerateResult(out, raw, weeks_dir, settings.fmt, sizes)
    result.schedule = snapshot_schedule(settings.weeks)
    counts = {
        "addresses": sizes.addresses,
        "users": sizes.users,
        "promos": sizes.promos,
        "orders": sizes.orders,
        "order_items": sizes.orders,
        "events": sizes.sessions,
    }
    product_chunks = _chunks("products", sizes.products)
    product_files = settings.weeks + (settings.fmt != "csv")
    steps = sum(_chunks(t, c) for t, c in counts.items()) + product_chunks * product_files
    made = [p for p in (out, *out.parents) if not p.exists()]  # to remove if the run fails
    out.mkdir(parents=True, exist_ok=True)
    # everything is written under a temporary folder in OUT and moved into place at the end,
    # so an interrupted run leaves the previous files (or none), never a mix
    tmp = Path(tempfile.mkdtemp(prefix=".generate-", dir=out))
    staged_raw, staged_weeks = tmp / "raw", tmp / "inventory-weeks"
    staged_raw.mkdir()
    staged_weeks.mkdir()
    con = duckdb.connect()
    interrupts.register(con)
    finished = False
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"set temp_directory = {_literal(tmp / 'spill')}")
        con.execute("set preserve_insertion_order = true")
        con.execute("set enable_progress_bar = false")
        for name, value in _variables(settings, sizes).items():
            _set(con, name, value)
        con.execute(render("generate/macros.sql"))
        con.execute(render("generate/inventory_states.sql"))
        con.execute(
            "create temp table product_ids as select p, uuid_of('product', p) as product_id "
            "from range(getvariable('n_products')) as t(p)"
        )
        with progress(steps, "generating") as bar:
            csv_writer = _Writer(con, "csv", tmp, bar)
            writer = _Writer(con, settings.fmt, tmp, bar)
            for week, _at, file in result.schedule:
                _set(con, "week", week)
                csv_writer.write(
                    "products", "generate/products.sql", sizes.products, staged_weeks / file, file
                )
            _set(con, "week", 1)
            for table in TABLE_ORDER:
                target = staged_raw / f"{table}.{settings.fmt}"
                if table == "products" and settings.fmt == "csv":
                    shutil.copyfile(staged_weeks / "products_week1.csv", target)
                    result.rows[table] = sizes.products
                    continue
                count = sizes.products if table == "products" else counts[table]
                result.rows[table] = writer.write(
                    table, f"generate/{table}.sql", count, target, table
                )
        _write_schedule(staged_weeks / "schedule.csv", result.schedule)
        _move_into_place(staged_raw, raw, staged_weeks, weeks_dir, settings)
        finished = True
    except duckdb.Error as exc:
        full = disk_full(exc, out)
        if full is None:
            raise
        raise full from None
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
        if not finished and made:
            shutil.rmtree(made[-1], ignore_errors=True)  # the folders this run created
    return result


def _move_into_place(
    staged_raw: Path, raw: Path, staged_weeks: Path, weeks_dir: Path, settings: GenerateSettings
) -> None:
    # renames only, in one go: a Ctrl-C or SIGTERM waits the few milliseconds until the end
    with interrupts.deferred():
        raw.mkdir(parents=True, exist_ok=True)
        weeks_dir.mkdir(parents=True, exist_ok=True)
        _clear_stale(raw, weeks_dir, settings.fmt, settings.weeks)
        for staged, final in ((staged_raw, raw), (staged_weeks, weeks_dir)):
            for path in sorted(staged.iterdir()):
                os.replace(path, final / path.name)
        interrupts.changed(str(raw.parent))


def _write_schedule(path: Path, schedule: list[tuple[int, datetime, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["week", "snapshot_at", "file"])
        for week, at, file in schedule:
            writer.writerow([week, at.strftime("%Y-%m-%dT%H:%M:%SZ"), file])
