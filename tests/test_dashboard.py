"""The dashboard page: its numbers, its escaping, that it loads nothing, and a real browser."""

from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from browser import chromium_path, open_page, png_pixels
from conftest import REPO, run_cli

from greenery_cli.charts import inventory_paths_charts
from greenery_cli.dashboard import (
    DashboardData,
    inventory_paths,
    last_snapshot_and_load,
    render_html,
    write_dashboard,
)
from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.warehouse import open_warehouse

ARTIFACTS = REPO / "tests" / "artifacts"
GENERATED_AT = datetime(2024, 10, 29, 7, 30, tzinfo=UTC)
RUN_TIMES = [
    datetime(2024, 10, 10, 6, tzinfo=UTC),
    datetime(2024, 10, 16, 6, tzinfo=UTC),
    datetime(2024, 10, 22, 6, tzinfo=UTC),
    datetime(2024, 10, 29, 6, tzinfo=UTC),
]
SCRIPT_NAME = "<script>alert(1)</script>"
QUOTED_NAME = 'Ferns "fancy" & Co\'s'


# --- reading the page back as text --------------------------------------------------------


class _Text(HTMLParser):
    """Collects visible text, and the cells of each table under the section with a given id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section: str | None = None
        self.tables: dict[str, list[list[str]]] = {}
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.text: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "section":
            self.section = dict(attrs).get("id")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.section:
            self.tables.setdefault(self.section, []).append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def read_page(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


# --- hand-built answers ---------------------------------------------------------------------


def funnel_frame(counts: list[int]) -> pl.DataFrame:
    """A --by-step funnel, computed here from its counts as the funnel command defines it."""
    drops = [None] + [a - b for a, b in pairwise(counts)]
    rates = [None] + [(a - b) / a for a, b in pairwise(counts)]
    biggest = max(d for d in drops if d is not None)
    worst = max(r for r in rates if r is not None)
    return pl.DataFrame(
        {
            "step": [1, 2, 3],
            "event_type": ["page_view", "add_to_cart", "checkout"],
            "label": ["Viewed a product page", "Added to cart", "Checked out"],
            "count": counts,
            "pct_of_first": [c / counts[0] for c in counts],
            "conversion_from_previous": [None] + [b / a for a, b in pairwise(counts)],
            "drop_off": drops,
            "drop_off_rate": rates,
            "largest_drop_off_by_count": [d == biggest for d in drops],
            "largest_drop_off_by_rate": [r == worst for r in rates],
        }
    )


def paths_frame(products: dict[str, tuple[str, list[int | None]]]) -> pl.DataFrame:
    rows = [
        {
            "product_id": pid,
            "name": name,
            "snapshot_run_id": run + 1,
            "taken_at": RUN_TIMES[run],
            "inventory": value,
        }
        for pid, (name, values) in products.items()
        for run, value in enumerate(values)
        if value is not None
    ]
    return pl.DataFrame(
        rows,
        schema={
            "product_id": pl.String,
            "name": pl.String,
            "snapshot_run_id": pl.Int64,
            "taken_at": pl.Datetime("us", "UTC"),
            "inventory": pl.Int32,
        },
    )


def sample_data(**overrides: object) -> DashboardData:
    fields: dict[str, object] = {
        "funnel_by_step": funnel_frame([578, 467, 361]),
        "funnel_caption": "order any · no window · unit session",
        "inventory_paths": paths_frame(
            {
                "p-pothos": ("Pothos", [40, 20, 0, 20]),
                "p-script": (SCRIPT_NAME, [58, 10, 0, 0]),
                "p-ferns": (QUOTED_NAME, [51, 25, 15, 30]),
            }
        ),
        "inventory_changes": pl.DataFrame(
            {
                "product_id": ["p-pothos", "p-ferns", "p-new"],
                "name": ["Pothos", QUOTED_NAME, "Bird of Paradise"],
                "inventory_before": [0, 15, None],
                "inventory_after": [20, 30, 12],
                "change": [20, 15, None],
                "status": ["changed", "changed", "appeared"],
            }
        ),
        "changes_label": "run 3 (2024-10-22 06:00 UTC) -> run 4 (2024-10-29 06:00 UTC)",
        "stockouts": pl.DataFrame(
            {
                "product_id": ["p-pothos", "p-script"],
                "name": ["Pothos", SCRIPT_NAME],
                "out_since": [RUN_TIMES[2], RUN_TIMES[2]],
                "restocked_at": [RUN_TIMES[3], None],
                "restocked_inventory": [20, None],
            },
            schema_overrides={"restocked_at": pl.Datetime("us", "UTC")},
        ),
        "stockouts_label": "runs from 2024-10-08 06:00 UTC to run 4 (2024-10-29 06:00 UTC)",
        "data_as_of": datetime(2024, 10, 28, 23, 59, tzinfo=UTC),
        "last_snapshot_at": RUN_TIMES[3],
        "last_load_at": None,
    }
    fields.update(overrides)
    return DashboardData(**fields)  # type: ignore[arg-type]


# --- the page's content -------------------------------------------------------------------


def test_page_shows_the_funnel_numbers_given() -> None:
    page = read_page(render_html(sample_data(), GENERATED_AT))
    rows = page.tables["funnel"][1:]
    assert rows == [
        ["1. Viewed a product page", "page_view", "578", "100.0%", "–", "–", "–"],
        ["2. Added to cart", "add_to_cart", "467", "80.8%", "80.8%", "111", "19.2%"],
        ["3. Checked out", "checkout", "361", "62.5%", "77.3%", "106", "22.7%"],
    ]
    text = "".join(page.text)
    assert "order any · no window · unit session" in text
    # by count the first drop is largest, by rate the second: the page names each
    assert "111 lost (19.2%) · largest drop-off by count" in text
    assert "106 lost (22.7%) · largest drop-off by rate" in text


def test_page_says_largest_drop_off_once_when_count_and_rate_agree() -> None:
    text = "".join(
        read_page(
            render_html(sample_data(funnel_by_step=funnel_frame([1000, 400, 300])), GENERATED_AT)
        ).text
    )
    assert "600 lost (60.0%) · largest drop-off" in text
    assert text.count("largest drop-off") == 1
    assert "by count" not in text and "by rate" not in text


def test_page_shows_the_changes_stockouts_and_freshness_given() -> None:
    page = read_page(render_html(sample_data(), GENERATED_AT))
    assert page.tables["inventory-changes"][1:] == [
        ["Pothos", "0", "20", "+20", "changed"],
        [QUOTED_NAME, "15", "30", "+15", "changed"],
        ["Bird of Paradise", "–", "12", "–", "appeared"],
    ]
    assert page.tables["stockouts"][1:] == [
        ["Pothos", "2024-10-22 06:00 UTC", "2024-10-29 06:00 UTC", "20"],
        [SCRIPT_NAME, "2024-10-22 06:00 UTC", "still out of stock", "–"],
    ]
    text = " ".join(" ".join(page.text).split())
    assert "2 products went out of stock in the last 3 weeks." in text
    assert "run 3 (2024-10-22 06:00 UTC) -> run 4 (2024-10-29 06:00 UTC)" in text
    assert "Data as of 2024-10-28 23:59 UTC" in text
    assert "Last snapshot 2024-10-29 06:00 UTC" in text
    assert "Last load unknown" in text
    assert "Page generated 2024-10-29 07:30 UTC" in text


def test_inventory_charts_mark_every_stockout() -> None:
    html = render_html(sample_data(), GENERATED_AT)
    # one tooltip per state, and a red dot (r=5) for each state at 0: Pothos once, the other twice
    assert html.count("<circle") == 12
    assert html.count('r="5"') == 3
    assert "run 3, 2024-10-22 06:00 UTC: 0" in html
    text = "".join(read_page(html).text)
    assert "out of stock at 2 runs" in text and "out of stock at 1 run" in text
    # the stocked-out products lead, then the rest
    assert text.index("alert(1)") < text.index(QUOTED_NAME)


def test_inventory_chart_breaks_its_line_where_the_product_was_absent() -> None:
    frame = paths_frame({"p": ("Monstera", [5, None, 0, 7]), "q": ("Orchid", [1, 2, 3, 4])})
    chart = next(c for c in inventory_paths_charts(frame.to_dicts()) if c.product_id == "p")
    assert len(chart.segments) == 2
    assert [p.inventory for p in chart.points] == [5, 0, 7]
    assert [p.stockout for p in chart.points] == [False, True, False]
    assert chart.points[1].y == chart.y_zero  # 0 sits on the baseline
    xs = [p.x for p in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == 3


def test_empty_answers_say_so() -> None:
    data = sample_data(
        inventory_paths=paths_frame({}),
        inventory_changes=sample_data().inventory_changes.clear(),
        stockouts=sample_data().stockouts.clear(),
    )
    text = " ".join(" ".join(read_page(render_html(data, GENERATED_AT)).text).split())
    assert "No product's inventory changed across the snapshot history." in text
    assert "No product's inventory changed between these snapshots." in text
    assert "No product went out of stock in the last 3 weeks." in text


def test_a_frame_missing_a_column_is_named() -> None:
    data = sample_data(stockouts=sample_data().stockouts.drop("out_since"))
    with pytest.raises(ValueError, match="stockouts lacks columns out_since"):
        render_html(data, GENERATED_AT)


# --- escaping and self-containment --------------------------------------------------------


def test_hostile_names_render_as_text() -> None:
    hostile_label = '<img src=x onerror="alert(2)"> & "quoted"'
    funnel = funnel_frame([10, 5, 1]).with_columns(pl.Series("label", [hostile_label] * 3))
    html = render_html(
        sample_data(funnel_by_step=funnel, funnel_caption="<b>bold</b> & caption"), GENERATED_AT
    )
    page = read_page(html)
    assert "script" not in page.tags and "img" not in page.tags and "b" not in page.tags
    assert re.search(r"<\s*script", html, re.IGNORECASE) is None
    assert "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Ferns &#34;fancy&#34; &amp; Co&#39;s" in html
    # read back as text, each name is exactly what the data held
    text = "".join(page.text)
    assert SCRIPT_NAME in text and QUOTED_NAME in text and hostile_label in text
    assert "<b>bold</b> & caption" in text
    assert [SCRIPT_NAME] == [row[0] for row in page.tables["stockouts"] if "alert" in row[0]]


def test_page_loads_nothing_from_anywhere() -> None:
    html = render_html(sample_data(), GENERATED_AT)
    assert re.search(r"""\b(src|href|srcset|action|poster|data)\s*=""", html, re.IGNORECASE) is None
    assert re.search(r"url\s*\(|@import|https?:|//[a-z0-9.-]+\.[a-z]{2,}", html, re.I) is None
    assert "default-src 'none'" in html  # and the browser is told to refuse anything that slips in


# --- the warehouse side: inventory paths and last snapshot/load -----------------------------


def build_snapshots(db: Path, runs: list[tuple[datetime, dict[str, tuple[str, int]]]]) -> None:
    """Write a type-2 history of the given weekly states, following the snapshot contract."""
    versions: list[dict[str, object]] = []
    current: dict[str, dict[str, object]] = {}
    for run_id, (taken_at, state) in enumerate(runs, start=1):
        for pid, version in list(current.items()):
            if version["is_deleted"] and pid not in state:
                continue
            if not version["is_deleted"] and state.get(pid) == (
                version["name"],
                version["inventory"],
            ):
                continue
            version["valid_to"], version["closed_by_run"] = taken_at, run_id
            del current[pid]
            if pid not in state:  # gone: a tombstone opens
                current[pid] = {
                    **version,
                    "valid_from": taken_at,
                    "valid_to": None,
                    "is_deleted": True,
                    "opened_by_run": run_id,
                    "closed_by_run": None,
                }
                versions.append(current[pid])
        for pid, (name, inventory) in state.items():
            if pid not in current:
                current[pid] = {
                    "product_id": pid,
                    "name": name,
                    "inventory": inventory,
                    "valid_from": taken_at,
                    "valid_to": None,
                    "is_deleted": False,
                    "opened_by_run": run_id,
                    "closed_by_run": None,
                }
                versions.append(current[pid])
    with open_warehouse(db, write=True) as wh:
        wh.execute(
            "create table snapshots.snapshot_runs (snapshot_run_id bigint, taken_at timestamptz, "
            "rows_opened bigint, rows_closed bigint, rows_deleted bigint, source varchar, "
            "check_columns varchar, missing_policy varchar)"
        )
        wh.execute(
            "create table snapshots.products_snapshot (snapshot_row_id bigint, product_id varchar, "
            "name varchar, price double, inventory integer, valid_from timestamptz not null, "
            "valid_to timestamptz, is_deleted boolean not null, opened_by_run bigint not null, "
            "closed_by_run bigint)"
        )
        for run_id, (taken_at, _) in enumerate(runs, start=1):
            wh.execute(
                "insert into snapshots.snapshot_runs "
                "values (?, ?, 0, 0, 0, 'test', 'all', 'new_record')",
                [run_id, taken_at],
            )
        for row_id, v in enumerate(versions, start=1):
            wh.execute(
                "insert into snapshots.products_snapshot values (?, ?, ?, 1.0, ?, ?, ?, ?, ?, ?)",
                [
                    row_id,
                    v["product_id"],
                    v["name"],
                    v["inventory"],
                    v["valid_from"],
                    v["valid_to"],
                    v["is_deleted"],
                    v["opened_by_run"],
                    v["closed_by_run"],
                ],
            )


def path_rows(df: pl.DataFrame) -> set[tuple[object, ...]]:
    return {
        (r["product_id"], r["name"], r["snapshot_run_id"], r["taken_at"], r["inventory"])
        for r in df.to_dicts()
    }


def test_inventory_paths_lists_each_changed_product_at_every_run(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    build_snapshots(
        db,
        [
            (RUN_TIMES[0], {"a": ("Aloe", 5), "b": ("Basil", 9), "d": ("Dill", 4)}),
            (
                RUN_TIMES[1],
                {"a": ("Aloe", 0), "b": ("Basil", 9), "d": ("Dill", 2), "c": ("Cactus", 3)},
            ),
            (RUN_TIMES[2], {"a": ("Aloe", 0), "b": ("Basil", 9), "c": ("Cactus", 3)}),
            (RUN_TIMES[3], {"a": ("Aloe", 6), "b": ("Basil", 9), "c": ("Cactus", 3)}),
        ],
    )
    with open_warehouse(db) as wh:
        paths = inventory_paths(wh)
        snapshot_at, load_at = last_snapshot_and_load(wh)
    # Basil never changed; Cactus appeared but held 3; Dill changed, then was deleted
    assert path_rows(paths) == {
        ("a", "Aloe", 1, RUN_TIMES[0], 5),
        ("a", "Aloe", 2, RUN_TIMES[1], 0),
        ("a", "Aloe", 3, RUN_TIMES[2], 0),
        ("a", "Aloe", 4, RUN_TIMES[3], 6),
        ("d", "Dill", 1, RUN_TIMES[0], 4),
        ("d", "Dill", 2, RUN_TIMES[1], 2),
    }
    assert snapshot_at == RUN_TIMES[3]
    assert load_at is None


def test_inventory_paths_is_empty_before_any_snapshot(tmp_path: Path) -> None:
    with open_warehouse(tmp_path / "wh.duckdb", write=True) as wh:
        assert inventory_paths(wh).is_empty()
        assert last_snapshot_and_load(wh) == (None, None)


def weekly_replay(real_data: Path) -> list[tuple[datetime, dict[str, tuple[str, int]]]]:
    weeks = real_data / "inventory-weeks"
    with open(weeks / "schedule.csv", newline="") as handle:
        schedule = sorted(csv.DictReader(handle), key=lambda row: int(row["week"]))
    runs = []
    for entry in schedule:
        taken_at = datetime.fromisoformat(entry["snapshot_at"].replace("Z", "+00:00"))
        with open(weeks / entry["file"], newline="") as handle:
            state = {
                r["product_id"]: (r["name"], int(r["inventory"])) for r in csv.DictReader(handle)
            }
        runs.append((taken_at, state))
    return runs


def test_real_weekly_replay_paths_and_page(real_data: Path, tmp_path: Path) -> None:
    runs = weekly_replay(real_data)
    db = tmp_path / "wh.duckdb"
    build_snapshots(db, runs)
    with open_warehouse(db) as wh:
        paths = inventory_paths(wh)
    changed = {pid for pid in runs[0][1] if len({state[pid][1] for _, state in runs}) > 1}
    expected = {
        (pid, state[pid][0], run_id, taken_at, state[pid][1])
        for run_id, (taken_at, state) in enumerate(runs, start=1)
        for pid in changed
    }
    assert changed and path_rows(paths) == expected
    html = render_html(sample_data(inventory_paths=paths), GENERATED_AT)
    for _, name, run_id, taken_at, inventory in expected:
        assert f"run {run_id}, {taken_at:%Y-%m-%d %H:%M} UTC: {inventory}" in html, name
    zeros = sum(1 for *_, inventory in expected if inventory == 0)
    assert html.count('r="5"') == zeros


# --- writing the file ---------------------------------------------------------------------


def test_write_dashboard_writes_one_file_and_nothing_else(tmp_path: Path) -> None:
    db = tmp_path / "wh.duckdb"
    with open_warehouse(db, write=True):
        pass
    out = tmp_path / "out"
    out.mkdir()
    with open_warehouse(db) as wh:
        written = write_dashboard(wh, out / "report.html", lambda _wh: sample_data(), GENERATED_AT)
    assert written == out / "report.html"
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert written.read_text(encoding="utf-8") == render_html(sample_data(), GENERATED_AT)
    with open_warehouse(db) as wh:
        with pytest.raises(UsageError, match="is a folder"):
            write_dashboard(wh, out, lambda _wh: sample_data())
        with pytest.raises(UsageError, match="does not exist"):
            write_dashboard(wh, tmp_path / "nope" / "r.html", lambda _wh: sample_data())


# --- the exposure -------------------------------------------------------------------------


def test_models_lists_the_report_exposure_after_its_models(tmp_path: Path) -> None:
    import json

    db = tmp_path / "wh.duckdb"
    with open_warehouse(db, write=True):
        pass
    result = run_cli("--db", str(db), "models", "--format", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows[-1]["layer"] == "exposure" and rows[-1]["model"] == "weekly_report"
    depends_on = rows[-1]["depends_on"].split(", ")
    assert "snapshots.products_snapshot" in depends_on
    models = [row["model"] for row in rows[:-1]]
    assert [d for d in depends_on if not d.startswith(("snapshots.", "meta."))] != []
    assert all(d in models for d in depends_on if not d.startswith(("snapshots.", "meta.")))


def test_an_exposure_on_a_missing_model_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "queries", project / "queries")
    shutil.copytree(REPO / "seeds", project / "seeds")
    shutil.copy(REPO / "greenery.toml", project / "greenery.toml")
    toml = project / "queries" / "exposures.toml"
    toml.write_text(toml.read_text().replace('"fct_sessions"', '"fct_sesions"'))
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(project))
    db = tmp_path / "wh.duckdb"
    with open_warehouse(db, write=True):
        pass
    result = run_cli("--db", str(db), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "exposures.toml" in result.stderr and "fct_sesions" in result.stderr


# --- a real browser -----------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)",
)


@needs_chromium
def test_real_browser_opens_the_page_quietly_and_draws_it(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "dashboard.html"
    page.write_text(render_html(sample_data(), GENERATED_AT), encoding="utf-8")
    report = open_page(page)
    (ARTIFACTS / "dashboard.png").write_bytes(report.screenshot)
    assert report.console_errors == []
    assert report.requests == [page.resolve().as_uri()]  # the file itself, nothing more
    width, height, pixels = png_pixels(report.thumbnail)
    assert width == 320 and height > 300  # the whole page, at a quarter scale
    colours = Counter(pixels)
    background, background_count = colours.most_common(1)[0]
    assert len(colours) > 100 and len(pixels) - background_count > len(pixels) // 5
    # the funnel's green bars and the red stockout marks were drawn
    green = sum(1 for r, g, b in pixels if g > r + 50 and g > b + 20)
    red = sum(1 for r, g, b in pixels if r > g + 80 and r > b + 80)
    assert green > 300 and red > 10


@needs_chromium
def test_browser_check_catches_requests_and_console_errors(tmp_path: Path) -> None:
    """The harness itself can fail: a page that loads an image and logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><p>bad</p><img src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom')</script>"
    )
    report = open_page(bad)
    assert "http://127.0.0.1:9/x.png" in report.requests
    assert any("boom" in error for error in report.console_errors)


def test_label_and_status_are_optional() -> None:
    data = sample_data(
        funnel_by_step=funnel_frame([10, 5, 1]).drop("label"),
        inventory_changes=sample_data().inventory_changes.drop("status"),
    )
    page = read_page(render_html(data, GENERATED_AT))
    assert [row[0] for row in page.tables["funnel"][1:]] == [
        "1. page_view",
        "2. add_to_cart",
        "3. checkout",
    ]
    assert page.tables["inventory-changes"][1] == ["Pothos", "0", "20", "+20", ""]
