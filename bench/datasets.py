"""Data preparation (untimed): export folders, and the warehouses and files work items start from.

A `Dataset` is one export folder (raw/ and inventory-weeks/: the real data, a generator scale, a
replica) or one large products catalogue. Everything a work item needs from it is prepared on
first use and kept for the other items of the same dataset: greenery's warehouse with the weekly
product states replayed as snapshots, dbt's warehouse built from the same files and the same
weekly states, the snapshot's before/after products files, the row counts of the files.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from handwritten.job import export_file
from measure import run_untimed

if TYPE_CHECKING:
    from contenders.dbt import Dbt
    from contenders.greenery import Greenery
    from contenders.handwritten import HandWritten

FIRST_AT = "2024-01-01T06:00:00Z"  # the snapshot item's first run
CHANGED_AT = "2024-01-08T06:00:00Z"  # its 10%-changed run
RAW_TABLES = ("addresses", "users", "promos", "products", "orders", "order_items", "events")


@dataclass
class Contenders:
    greenery: Greenery
    hand: HandWritten
    dbt: Dbt | None
    fmt: str  # file format of generated data
    reuse: bool = False  # keep what an earlier run of the same --work prepared (--reuse)


# --- files ---------------------------------------------------------------------------------------


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_db(db: Path) -> None:
    for suffix in ("", ".wal", ".lock", ".tmp"):
        remove(db.with_name(db.name + suffix))


def prepared_mark(path: Path) -> Path:
    """The file saying `path` (a warehouse or an export folder) was prepared to the end."""
    return path.with_name(path.name + ".prepared")


def reusable(path: Path, recipe: str, reuse: bool) -> bool:
    """Whether `path` is what an earlier run prepared by the same recipe (with --reuse)."""
    mark = prepared_mark(path)
    return reuse and path.exists() and mark.exists() and mark.read_text() == recipe


def mark_prepared(path: Path, recipe: str) -> None:
    prepared_mark(path).write_text(recipe)


def copy_db(source: Path, target: Path) -> None:
    remove_db(target)
    shutil.copyfile(source, target)


def only_file(file: Path, folder: Path, name: str | None = None) -> Path:
    """A folder holding just `file` (as a link), e.g. a source of one products table."""
    remove(folder)
    folder.mkdir(parents=True)
    (folder / (name or file.name)).symlink_to(file.resolve())
    return folder


def reader(path: Path) -> str:
    function = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return f"{function}('{path}'{', header = true' if path.suffix == '.csv' else ''})"


def copy_options(path: Path) -> str:
    return "(format parquet)" if path.suffix == ".parquet" else "(format csv, header true)"


def write_changed(products: Path, target: Path) -> tuple[int, int]:
    """products with every 10th product (by id) given a new inventory: (changed, all)."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"copy (select * replace (case when row_number() over (order by product_id) % 10 = 0 "
        f"then coalesce(inventory, 0) + 7 else inventory end as inventory) "
        f"from {reader(products)} order by product_id) to '{target}' {copy_options(target)}"
    )
    total = int(con.execute(f"select count(*) from {reader(products)}").fetchall()[0][0])
    con.close()
    return total // 10, total


def write_catalogue(target: Path, products: int) -> None:
    """A large products table shaped like the real one (uuid-like ids, names, prices, stock)."""
    import duckdb

    con = duckdb.connect()
    con.execute(
        f"copy (select md5(i::varchar)::uuid::varchar as product_id, 'Plant ' || i as name, "
        f"round(5 + (i % 600) / 10.0, 2)::double as price, ((i * 7919) % 120)::integer "
        f"as inventory from range({products}) as t(i)) to '{target}' {copy_options(target)}"
    )
    con.close()


def count_rows(files: dict[str, Path]) -> dict[str, int]:
    import duckdb

    con = duckdb.connect()
    counts = {
        t: int(con.execute(f"select count(*) from {reader(p)}").fetchall()[0][0])
        for t, p in files.items()
    }
    con.close()
    return counts


# --- datasets ------------------------------------------------------------------------------------


class Dataset:
    def __init__(
        self,
        name: str,
        place: Path,
        contenders: Contenders,
        export: Path | None = None,
        catalogue: int = 0,
    ) -> None:
        self.name = name  # "real", "scale 100", "real x10", "3000000 products"
        self.kind = "catalogue" if catalogue else "shop" if export else "cli"
        self.place = place
        self.c = contenders
        self.export = export
        self.catalogue = catalogue
        self.scratch: set[Path] = set()  # warehouses of one work item, removed after it
        place.mkdir(parents=True, exist_ok=True)

    def db(self, name: str, keep: bool = False) -> Path:
        """A warehouse file of this dataset; kept for later items, or scratch of one item."""
        path = self.place / f"{name}.duckdb"
        if not keep:
            self.scratch.add(path)
        return path

    def clean(self) -> None:
        """Remove the scratch warehouses of the item just measured (at scale 10,000 each is
        about 12 GB)."""
        for db in self.scratch:
            remove_db(db)
        self.scratch.clear()

    @cached_property
    def raw(self) -> Path:
        assert self.export is not None, f"{self.name} has no raw tables"
        return self.export / "raw"

    @cached_property
    def products(self) -> Path:
        if self.catalogue:
            target = self.place / "catalogue" / f"products.{self.c.fmt}"
            target.parent.mkdir(exist_ok=True)
            write_catalogue(target, self.catalogue)
            return target
        return export_file(self.raw, "products")

    @cached_property
    def weeks(self) -> list[tuple[str, Path]]:
        """The weekly products states: (snapshot moment, products file), in order."""
        assert self.export is not None
        folder = self.export / "inventory-weeks"
        with (folder / "schedule.csv").open(newline="") as handle:
            return [(row["snapshot_at"], folder / row["file"]) for row in csv.DictReader(handle)]

    @cached_property
    def raw_counts(self) -> dict[str, int]:
        """Rows per raw file, read straight from the files: the answer every load must give."""
        return count_rows({t: export_file(self.raw, t) for t in RAW_TABLES})

    # --- greenery's warehouses ---------------------------------------------------------------

    @cached_property
    def greenery_history(self) -> Path:
        """greenery's warehouse loaded from the files, with every weekly products state replayed
        through the snapshot in order."""
        db = self.db("greenery-history", keep=True)
        recipe = f"greenery load {self.raw}, then {len(self.weeks)} weekly snapshots"
        if reusable(db, recipe, self.c.reuse):
            return db
        remove_db(db)
        prepared_mark(db).unlink(missing_ok=True)
        run_untimed(self.c.greenery.load(db, self.raw))
        for week, (at, file) in enumerate(self.weeks, start=1):
            folder = only_file(file, self.place / "weeks" / str(week), "products" + file.suffix)
            run_untimed(self.c.greenery.snapshot(db, folder, at))
        mark_prepared(db, recipe)
        return db

    # --- dbt's warehouses --------------------------------------------------------------------

    @cached_property
    def dbt_history(self) -> Path:
        """dbt's warehouse: `dbt snapshot` of each weekly state in order, then `dbt run`."""
        assert self.c.dbt is not None
        db = self.db("dbt-history", keep=True)
        recipe = f"dbt snapshot of {len(self.weeks)} weekly states, then dbt run on {self.raw}"
        if reusable(db, recipe, self.c.reuse):
            return db
        remove_db(db)
        prepared_mark(db).unlink(missing_ok=True)
        for week, (_, file) in enumerate(self.weeks, start=1):
            folder = only_file(file, self.place / "weeks" / str(week), "products" + file.suffix)
            run_untimed(self.c.dbt.step(db, folder, "snapshot", parsed=False))
        run_untimed(self.c.dbt.step(db, self.raw, "run", parsed=False))
        mark_prepared(db, recipe)
        return db

    # --- the snapshot item ---------------------------------------------------------------------

    @cached_property
    def snapshot_sources(self) -> tuple[Path, Path, int, int]:
        """Folders holding only products: the first state, and 10% of products changed."""
        first = only_file(self.products, self.place / "products-first", None)
        changed = self.place / "products-changed"
        remove(changed)
        changed.mkdir()
        n_changed, n_all = write_changed(self.products, changed / self.products.name)
        return first, changed, n_changed, n_all

    @cached_property
    def greenery_snapshot_base(self) -> Path:
        """A new warehouse after greenery's first snapshot of the products."""
        db = self.db("greenery-snapshot-base", keep=True)
        remove_db(db)
        run_untimed(self.c.greenery.snapshot(db, self.snapshot_sources[0], FIRST_AT))
        return db

    @cached_property
    def dbt_snapshot_base(self) -> Path:
        assert self.c.dbt is not None
        db = self.db("dbt-snapshot-base", keep=True)
        remove_db(db)
        run_untimed(self.c.dbt.step(db, self.snapshot_sources[0], "snapshot", parsed=False))
        return db

    # --- the build-engine items (issue 15) ---------------------------------------------------

    @cached_property
    def hourly(self) -> tuple[Path, Path, Path]:
        """A source whose events are a folder of files: (source, the newest 1% of events as a
        file to add, the warehouse loaded before it arrived)."""
        import duckdb

        source = self.place / "hourly"
        remove(source)
        (source / "events").mkdir(parents=True)
        for table in RAW_TABLES:
            if table != "events":
                file = export_file(self.raw, table)
                (source / file.name).symlink_to(file.resolve())
        events = export_file(self.raw, "events")
        older, newest = (
            source / "events" / f"part-0{events.suffix}",
            self.place / f"part-1{events.suffix}",
        )
        con = duckdb.connect()
        con.execute(f"create view e as select * from {reader(events)}")
        cut = con.execute("select quantile_disc(created_at, 0.99) from e").fetchall()[0][0]
        con.execute(
            f"copy (select * from e where created_at < $cut) to '{older}' {copy_options(older)}",
            {"cut": cut},
        )
        con.execute(
            f"copy (select * from e where created_at >= $cut) to '{newest}' {copy_options(newest)}",
            {"cut": cut},
        )
        con.close()
        db = self.db("greenery-hourly-base", keep=True)
        remove_db(db)
        run_untimed(self.c.greenery.load(db, source))
        return source, newest, db
