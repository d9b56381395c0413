"""The report page in a real browser (Debian's chromium) at a phone's and a laptop's width:
nothing overflows sideways, every section holds the numbers its command prints as JSON, a stale
warehouse says so at the top, and hostile product names stay text. Screenshots for review go to
tests/artifacts/ (gitignored)."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, BrowserReport, chromium_path, open_page, png_pixels
from conftest import REPO, run_cli

from greenery_cli.timewords import took_in_words
from greenery_cli.warehouse import open_warehouse

ARTIFACTS = REPO / "tests" / "artifacts"
WIDTHS = (390, 1280)  # a phone (iPhone 12-15) and a laptop
PHONE_HEIGHT = 844
PRINT_WIDTH = 718  # an A4 page's printable width at 96 dpi, inside 12 mm margins
MARKUP_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)> & "Co"'
LONG_NAME = "Philodendron" * 25  # 300 characters with nowhere to break
RTL_NAME = "Boston \u202eFern"  # a right-to-left override inside the name

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        chromium_path() is None,
        reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
    ),
]

# the JavaScript the tests evaluate in the page (see each file's header)
CHECKS = Path(__file__).resolve().parent / "page_checks"
LAYOUT_JS = (CHECKS / "layout.js").read_text(encoding="utf-8")
EXTRACT_JS = (CHECKS / "extract.js").read_text(encoding="utf-8")


# --- warehouses ---------------------------------------------------------------------------


def _weeks(real_data: Path) -> list[tuple[datetime, Path]]:
    folder = real_data / "inventory-weeks"
    with (folder / "schedule.csv").open(newline="") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: int(r["week"]))
    return [
        (datetime.fromisoformat(r["snapshot_at"].replace("Z", "+00:00")), folder / r["file"])
        for r in rows
    ]


def _load_and_snapshot(db: Path, source: Path, states: list[tuple[datetime, Path]]) -> None:
    """Load `source`, then snapshot each products state at its moment, as cron would have."""
    from greenery_cli.load import LoadSettings, load
    from greenery_cli.snapshot import SnapshotSettings, take_snapshot

    load(LoadSettings(db=db, source=str(source)))
    for at, products in states:
        shutil.copyfile(products, source / "products.csv")
        take_snapshot(SnapshotSettings(db=db, source=str(source), at=at))


@pytest.fixture(scope="module")
def weekly_warehouse(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real exports loaded, and the four real weeks of products snapshotted."""
    folder = tmp_path_factory.mktemp("weekly")
    source = folder / "exports"
    shutil.copytree(real_data / "raw", source)
    db = folder / "weekly.duckdb"
    _load_and_snapshot(db, source, _weeks(real_data))
    return db


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(timeout=600) as running:
        yield running


def make_page(db: Path, out: Path) -> Path:
    result = run_cli("--db", str(db), "report", "--html", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def json_of(db: Path, *args: str) -> Any:
    result = run_cli("--db", str(db), *args, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def look(browser: Browser, page: Path, width: int, name: str, **kwargs: Any) -> BrowserReport:
    """Open the page at `width`, keep its screenshot for review, and check it loaded quietly."""
    smallest = 10 if kwargs.get("media") == "print" else 11  # px; 10 px prints at 7.5 pt
    layout = LAYOUT_JS.replace("MINIMUM_FONT_PX", str(smallest))
    report = browser.open(page, width=width, evaluate=layout, thumbnail=False, **kwargs)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}-{width}.png").write_bytes(report.screenshot)
    assert report.console_errors == []
    assert report.requests == [page.resolve().as_uri()]  # the file itself, nothing more
    return report


def assert_reads_at(report: BrowserReport, width: int) -> None:
    layout = report.value
    assert layout["width"] == width
    assert layout["scrollWidth"] <= width, layout["overflowing"][:10]
    assert layout["overflowing"] == []
    assert layout["tiny"] == []
    assert layout["scaledSvgText"] == 0
    assert layout["reordered"] == []


# --- reading the page's words back as numbers ----------------------------------------------


def number(text: str) -> int | float | None:
    """'1,234' -> 1234, '−13' -> -13, '+41' -> 41, '7.5' -> 7.5, '–' -> None."""
    if text in ("–", ""):
        return None
    cleaned = text.replace(",", "").replace("−", "-").replace("+", "")
    return float(cleaned) if "." in cleaned else int(cleaned)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def spoken(iso: str) -> str:
    """An ISO moment as the page says it, written independently of greenery's formatter."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M} UTC"


# --- the tests ----------------------------------------------------------------------------


def test_the_weekly_page_reads_at_a_phone_and_a_laptop_width_and_prints(
    weekly_warehouse: Path, browser: Browser, tmp_path: Path
) -> None:
    page = make_page(weekly_warehouse, tmp_path / "report.html")
    for width in WIDTHS:
        report = look(browser, page, width, "dashboard", height=PHONE_HEIGHT)
        assert_reads_at(report, width)
    printed = look(browser, page, PRINT_WIDTH, "dashboard-print", media="print")
    assert_reads_at(printed, PRINT_WIDTH)
    # the pictures were drawn: green funnel bars and sparklines, red stockout marks
    small = browser.open(page, width=WIDTHS[1], thumbnail=True)
    width, height, pixels = png_pixels(small.thumbnail)
    assert width == WIDTHS[1] // 4 and height > 300
    colours = Counter(pixels)
    assert len(colours) > 100
    green = sum(1 for r, g, b in pixels if g > r + 50 and g > b + 20)
    red = sum(1 for r, g, b in pixels if r > g + 80 and r > b + 80)
    assert green > 300 and red > 10


def test_every_section_holds_the_numbers_its_command_prints_as_json(
    weekly_warehouse: Path, browser: Browser, tmp_path: Path
) -> None:
    page = make_page(weekly_warehouse, tmp_path / "report.html")
    seen = browser.open(page, width=WIDTHS[1], evaluate=EXTRACT_JS, thumbnail=False).value
    db = weekly_warehouse

    changes = json_of(db, "inventory-changes")
    assert len(changes) == 6  # the known answer: six products changed week 3 -> 4
    assert [[c["text"] for c in row] for row in seen["changes"]] == [
        [
            r["name"],
            *(str(number_text(r[k])) for k in ("inventory_before", "inventory_after")),
            signed_text(r["change"]),
            r["status"],
        ]
        for r in changes
    ]

    ranking = json_of(db, "fluctuations", "--top", "10")
    assert len(seen["fluctuations"]) == len(ranking) > 0
    for row, expected in zip(seen["fluctuations"], ranking, strict=True):
        rank, name, moves, moved, spread, path = row
        assert number(rank["text"]) == expected["rank"]
        assert name["names"] == [expected["name"]]
        assert number(moves["text"]) == expected["changes"]
        assert number(moved["text"]) == expected["total_change"]
        low, high = spread["text"].split(" ")[1].split("–")
        assert [number(spread["text"].split(" ")[0]), number(low), number(high)] == [
            expected["range"],
            expected["min_inventory"],
            expected["max_inventory"],
        ]
        assert [number(v) for v in path["title"].split(" → ")] == expected["path"]
        assert path["text"] == f"{expected['first_inventory']} → {expected['last_inventory']}"

    outs = json_of(db, "stockouts", "--weeks", "3")
    assert len({r["product_id"] for r in outs}) == 2  # the known answer: two stockouts
    assert len(seen["stockouts"]) == len(outs)
    for row, expected in zip(seen["stockouts"], outs, strict=True):
        name, since, back, days, _spell = row
        assert name["names"] == [expected["name"]]
        assert since["times"] == [expected["out_since"]]
        assert since["text"] == spoken(expected["out_since"])
        if expected["restocked_at"] is not None:
            assert back["times"] == [expected["restocked_at"]]
            assert (
                back["text"]
                == f"{spoken(expected['restocked_at'])} with {expected['restocked_inventory']}"
            )
        else:
            assert back["text"] == "still out of stock"
        assert number(days["text"]) == expected["days_out"]

    steps = json_of(db, "funnel", "--by-step")
    assert [s["count"] for s in steps] == [578, 467, 361]  # the known answer
    with (REPO / "seeds" / "funnel_steps.csv").open(newline="") as handle:
        labels = {int(r["step"]): r["label"] for r in csv.DictReader(handle)}
    assert len(seen["funnel"]) == len(steps)
    for shown, expected in zip(seen["funnel"], steps, strict=True):
        assert shown["step"] == expected["step"]
        assert shown["label"] == labels[expected["step"]]
        assert number(shown["count"]) == expected["count"]
        assert shown["of_first"] == pct(expected["pct_of_first"])
        if expected["step"] > 1:
            assert shown["from_previous"] == pct(expected["conversion_from_previous"])
            assert number(shown["lost"]) == expected["drop_off"]
            assert shown["lost_rate"] == pct(expected["drop_off_rate"])
            assert ("largest drop-off by count" in shown["note"]) == expected[
                "largest_drop_off_by_count"
            ]
            assert ("largest drop-off by rate" in shown["note"]) == expected[
                "largest_drop_off_by_rate"
            ]
    # the known answer: the largest drop by count is at add_to_cart, by rate at checkout
    assert "largest drop-off by count" in seen["funnel"][1]["note"]
    assert "largest drop-off by rate" in seen["funnel"][2]["note"]

    products = json_of(db, "funnel", "--by", "product")
    assert len(seen["by_product"]) == len(products) == 30
    for row, expected in zip(seen["by_product"], products, strict=True):
        assert row[0]["names"] == [expected["name"]]
        assert [c["text"] for c in row[1:]] == [
            str(expected["viewed"]),
            f"{expected['added_to_cart']} {pct(expected['added_to_cart_rate'])}",
            f"{expected['checked_out']} {pct(expected['checked_out_rate'])}",
            pct(expected["conversion"]),
        ]

    # freshness last: `greenery freshness` records a run (the page did not)
    checks = {c["name"]: c for c in json_of(db, "freshness")}
    sources = [c for c in checks.values() if c["kind"] == "source"]
    assert [row[0]["text"] for row in seen["sources"]] == [c["name"] for c in sources]
    for row, expected in zip(seen["sources"], sources, strict=True):
        assert row[1]["times"] == [expected["loaded_at"]]
        assert row[2]["times"] == (
            [expected["newest_record_at"]] if expected["newest_record_at"] else []
        )
        assert row[-1]["text"].split(" ")[1] == expected["status"]
    builds = [c for c in checks.values() if c["kind"] != "source"]
    assert [row[0]["text"] for row in seen["builds"]] == [c["name"] for c in builds]
    for row, expected in zip(seen["builds"], builds, strict=True):
        assert row[1]["times"] == [expected["loaded_at"]]
        assert row[2]["text"] == took_in_words(expected["duration_s"])
        up_to_date = row[3]["text"].startswith("✓")
        assert up_to_date == (expected["status"] == "pass")


def number_text(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def signed_text(value: int | None) -> str:
    if value is None:
        return "–"
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


def test_a_warehouse_loaded_longer_ago_than_error_after_says_stale_at_the_top(
    weekly_warehouse: Path, browser: Browser, tmp_path: Path
) -> None:
    db = tmp_path / "stale.duckdb"
    shutil.copy(weekly_warehouse, db)
    with open_warehouse(db, write=True) as wh:  # as if nothing had run for three days
        wh.execute("update meta.loads set loaded_at = loaded_at - interval 3 days")
        wh.execute("update meta.model_builds set finished_at = finished_at - interval 3 days")
    page = make_page(db, tmp_path / "stale.html")
    for width in WIDTHS:
        report = look(browser, page, width, "dashboard-stale", height=PHONE_HEIGHT)
        assert_reads_at(report, width)
        seen = browser.open(page, width=width, evaluate=EXTRACT_JS, thumbnail=False).value
        banner = seen["verdict"]
        # in words ...
        assert banner["text"].startswith("✕ Stale data: every source was last loaded 3 days ago")
        assert "past the error limit of 2 days" in banner["text"]
        assert seen["title"].startswith("Stale data · ")
        assert banner["role"] == "alert"
        # ... and in colour, on the first screen
        red, green, blue = (int(v) for v in banner["background"][4:-1].split(",")[:3])
        assert red > green + 15 and red > blue + 15
        assert banner["bottom"] < PHONE_HEIGHT
        assert [row[-1]["text"].split(" ")[1] for row in seen["sources"]] == ["error"] * 7
    # the schedule column agrees with `greenery schedule check`: everything is overdue
    overdue = {(r["node_type"], r["node"]) for r in json_of(db, "schedule", "check")}
    late = {
        row[0]["text"].split(".", 1)[1]
        for row in seen["builds"]
        if row[4]["text"].startswith("! overdue")
    }
    assert late == {node for kind, node in overdue if kind == "model"} and late


def test_hostile_product_names_are_text_and_keep_the_layout(
    raw_copy: Path, browser: Browser, tmp_path: Path
) -> None:
    with (raw_copy / "products.csv").open(newline="") as handle:
        products = list(csv.DictReader(handle))
    hostile = {
        products[0]["product_id"]: MARKUP_NAME,
        products[1]["product_id"]: LONG_NAME,
        products[2]["product_id"]: RTL_NAME,
    }
    rtl_id = products[2]["product_id"]

    def state(name: str, changes: dict[str, int]) -> Path:
        path = tmp_path / f"{name}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(products[0]))
            writer.writeheader()
            for row in products:
                inventory = changes.get(row["product_id"], int(row["inventory"]))
                writer.writerow(
                    {
                        **row,
                        "name": hostile.get(row["product_id"], row["name"]),
                        "inventory": inventory,
                    }
                )
        return path

    first = state("one", {})
    shutil.copyfile(first, raw_copy / "products.csv")
    marked, long = products[0]["product_id"], products[1]["product_id"]
    runs = [
        (datetime(2024, 10, 1, 6, tzinfo=UTC), first),
        (datetime(2024, 10, 8, 6, tzinfo=UTC), state("two", {rtl_id: 0})),
        (
            datetime(2024, 10, 15, 6, tzinfo=UTC),
            state(
                "three",
                {
                    rtl_id: 25,
                    marked: int(products[0]["inventory"]) + 5,
                    long: int(products[1]["inventory"]) + 3,
                },
            ),
        ),
    ]
    db = tmp_path / "hostile.duckdb"
    _load_and_snapshot(db, raw_copy, runs)
    page = make_page(db, tmp_path / "hostile.html")
    for width in WIDTHS:
        assert_reads_at(look(browser, page, width, "dashboard-hostile"), width)
        seen = browser.open(page, width=width, evaluate=EXTRACT_JS, thumbnail=False).value
        assert seen["elements"] == 0  # no markup from a name became an element
        names = Counter(seen["names"])
        # each name, exactly as the shop wrote it: in the changes, the ranking (and its answer),
        # the per-product funnel; the right-to-left one also in the stockouts
        assert names[MARKUP_NAME] >= 3 and names[LONG_NAME] >= 3 and names[RTL_NAME] >= 5
        assert [row[0]["names"] for row in seen["stockouts"]] == [[RTL_NAME]]


# --- the harness's own checks can fail ------------------------------------------------------


def test_the_layout_check_catches_sideways_scrolling_and_leaking_bidi(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!DOCTYPE html><meta charset="utf-8"><body style="margin:0">'
        '<div style="width:900px">wide</div>'
        '<p style="font-size:8px">tiny</p>'
        '<p>the most was <span class="name">\u202eFern</span>, with 3 changes</p>'
        '<p>the most was <bdi class="name">\u202eFern</bdi>, with 3 changes</p>',
        encoding="utf-8",
    )
    with Browser() as running:
        check = LAYOUT_JS.replace("MINIMUM_FONT_PX", "11")
        layout = running.open(bad, width=390, evaluate=check, thumbnail=False).value
    assert layout["scrollWidth"] > 390
    assert any(item.startswith("div spans 0..900") for item in layout["overflowing"])
    assert any("tiny" in item for item in layout["tiny"])
    assert len(layout["reordered"]) == 1  # the <span> leaks its override; the <bdi> does not


def test_browser_check_catches_requests_and_console_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><p>bad</p><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom')</script>"
    )
    report = open_page(bad)
    assert "http://127.0.0.1:9/x.png" in report.requests
    assert any("boom" in error for error in report.console_errors)
