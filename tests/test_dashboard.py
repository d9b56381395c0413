"""The dashboard page from hand-built answers: its sections and their order, its numbers and
words, its freshness verdict, its escaping, that it loads nothing, and that making it writes
nothing to the warehouse. The real-browser tests are in test_dashboard_browser.py."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import REPO, run_cli

from greenery_cli import charts
from greenery_cli.dashboard import DashboardData, render_html, write_dashboard
from greenery_cli.errors import ExitCode, UsageError
from greenery_cli.freshness import checks_frame
from greenery_cli.freshness_summary import summarise
from greenery_cli.funnel import FunnelResult, FunnelSettings, FunnelStep
from greenery_cli.inventory import Fluctuations, InventoryChanges, SnapshotPoint, Stockouts
from greenery_cli.report import QUESTIONS, WeeklyReport
from greenery_cli.warehouse import open_warehouse

GENERATED_AT = datetime(2024, 10, 29, 7, 30, tzinfo=UTC)
RUN_TIMES = [
    datetime(2024, 10, 10, 6, tzinfo=UTC),
    datetime(2024, 10, 16, 6, tzinfo=UTC),
    datetime(2024, 10, 22, 6, tzinfo=UTC),
    datetime(2024, 10, 29, 6, tzinfo=UTC),
]
SCRIPT_NAME = "<script>alert(1)</script>"
QUOTED_NAME = 'Ferns "fancy" & Co\'s'
STEPS = (
    FunnelStep(1, "page_view", "Viewed a product page"),
    FunnelStep(2, "add_to_cart", "Added to cart"),
    FunnelStep(3, "checkout", "Checked out"),
)
SOURCES = ("orders", "events")
MODELS = ("staging.stg_events", "marts.fct_sessions")


# --- reading the page back as text --------------------------------------------------------


class _Text(HTMLParser):
    """Visible text, the tags used, and the cells of each table by its section or its own id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.section: str | None = None
        self.table: str | None = None
        self.tables: dict[str, list[list[str]]] = {}
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.hidden = 0  # inside <title> or a hidden rank (not read as a cell's text)
        self.text: list[str] = []
        self.tags: list[str] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "section":
            self.section = attributes.get("id")
        elif tag == "table":
            self.table = attributes.get("id") or self.section
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "h2":
            self._heading = []
        elif tag == "title" or "rank-inline" in (attributes.get("class") or ""):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table:
            self.tables.setdefault(self.table, []).append(self.row)
            self.row = None
        elif tag == "h2" and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None
        elif tag == "title" or (tag == "span" and self.hidden):
            self.hidden = max(self.hidden - 1, 0)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self.cell is not None and not self.hidden:
            self.cell.append(data)

    @property
    def words(self) -> str:
        return " ".join("".join(self.text).split())


def read_page(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


# --- hand-built answers ---------------------------------------------------------------------


def point(run: int) -> SnapshotPoint:
    return SnapshotPoint(run, RUN_TIMES[run - 1])


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
            "count": counts,
            "pct_of_first": [c / counts[0] for c in counts],
            "conversion_from_previous": [None] + [b / a for a, b in pairwise(counts)],
            "drop_off": drops,
            "drop_off_rate": rates,
            "largest_drop_off_by_count": [d == biggest for d in drops],
            "largest_drop_off_by_rate": [r == worst for r in rates],
        }
    )


def funnel(counts: list[int], steps: tuple[FunnelStep, ...] = STEPS) -> FunnelResult:
    return FunnelResult("by-step", funnel_frame(counts), FunnelSettings(), steps)


def by_product() -> FunnelResult:
    rows = pl.DataFrame(
        {
            "product_id": ["p-pothos", "p-script"],
            "name": ["Pothos", SCRIPT_NAME],
            "viewed": [40, 20],
            "added_to_cart": [10, 0],
            "checked_out": [5, 0],
            "added_to_cart_rate": [0.25, 0.0],
            "checked_out_rate": [0.5, None],
            "conversion": [0.125, 0.0],
        }
    )
    return FunnelResult("by-product", rows, FunnelSettings(), STEPS)


def changes() -> InventoryChanges:
    rows = pl.DataFrame(
        {
            "product_id": ["p-pothos", "p-ferns", "p-new"],
            "name": ["Pothos", QUOTED_NAME, "Bird of Paradise"],
            "status": ["changed", "changed", "new"],
            "inventory_before": [0, 15, None],
            "inventory_after": [20, 30, 12],
            "change": [20, 15, None],
        }
    )
    return InventoryChanges(rows, point(3), point(4), unchanged=27)


def fluctuations() -> Fluctuations:
    rows = pl.DataFrame(
        {
            "rank": [1, 2, 3],
            "product_id": ["p-script", "p-pothos", "p-ferns"],
            "name": [SCRIPT_NAME, "Pothos", QUOTED_NAME],
            "changes": [3, 3, 2],
            "total_change": [106, 80, 36],
            "min_inventory": [0, 0, 15],
            "max_inventory": [58, 40, 51],
            "range": [58, 40, 36],
            "stddev": [22.1, 14.1, 13.0],
            "first_inventory": [58, 40, 51],
            "last_inventory": [48, 20, 30],
            "path": [[58, 10, 0, 48], [40, 20, 0, 20], [51, 15, 30]],
        }
    )
    return Fluctuations(rows, point(1), point(4), 4, "changes", products=30, products_changed=3)


def stockouts() -> Stockouts:
    rows = pl.DataFrame(
        {
            "product_id": ["p-pothos", "p-script"],
            "name": ["Pothos", SCRIPT_NAME],
            "out_since": [RUN_TIMES[2], RUN_TIMES[2]],
            "restocked_at": [RUN_TIMES[3], None],
            "restocked_inventory": [20, None],
            "ended_at": [RUN_TIMES[3], None],
            "lowest_inventory": [0, 0],
            "status": ["restocked", "still out"],
            "days_out": [7.0, 7.0],
        },
        schema_overrides={
            "restocked_at": pl.Datetime("us", "UTC"),
            "ended_at": pl.Datetime("us", "UTC"),
        },
    )
    start = RUN_TIMES[3] - timedelta(weeks=3)
    return Stockouts(rows, start, point(4), point(2), weeks=3, threshold=0)


def weekly(**overrides: Any) -> WeeklyReport:
    fields: dict[str, Any] = {
        "inventory_changes": changes(),
        "fluctuations": fluctuations(),
        "stockouts": stockouts(),
        "funnel_by_step": funnel([578, 467, 361]),
        "funnel_by_product": by_product(),
    }
    fields.update(overrides)
    return WeeklyReport(**fields)


def freshness(load_age: timedelta = timedelta(hours=3), **changed: dict[str, Any]) -> pl.DataFrame:
    """Checks as `greenery freshness` makes them: two sources (1d/2d), two models, a snapshot."""
    loaded_at = GENERATED_AT - load_age
    age = load_age.total_seconds()
    status = "error" if age > 2 * 86400 else "warn" if age > 86400 else "pass"
    rows: dict[str, dict[str, Any]] = {}
    for name in SOURCES:
        rows[f"raw.{name}"] = {
            "kind": "source",
            "name": f"raw.{name}",
            "loaded_at": loaded_at,
            "load_age_s": age,
            "newest_record_at": datetime(2021, 2, 12, 8, 55, tzinfo=UTC),
            "record_age_s": (
                GENERATED_AT - datetime(2021, 2, 12, 8, 55, tzinfo=UTC)
            ).total_seconds(),
            "warn_after": "1d",
            "error_after": "2d",
            "status": status,
        }
    for name in MODELS:
        rows[name] = {
            "kind": "model",
            "name": name,
            "loaded_at": loaded_at + timedelta(seconds=5),
            "load_age_s": age - 5,
            "duration_s": 0.04,
            "status": "pass",
            "note": "built by run 1, 10 rows",
        }
    rows["snapshots.products_snapshot"] = {
        "kind": "snapshot",
        "name": "snapshots.products_snapshot",
        "loaded_at": RUN_TIMES[3],
        "load_age_s": (GENERATED_AT - RUN_TIMES[3]).total_seconds(),
        "duration_s": 0.2,
        "status": "pass",
        "note": "4 runs, latest 1 h ago",
    }
    for name, values in changed.items():
        rows[name.replace("__", ".")].update(values)
    return checks_frame(list(rows.values()))


def data(**overrides: Any) -> DashboardData:
    fields: dict[str, Any] = {
        "report": weekly(),
        "freshness": freshness(),
        "generated_at": GENERATED_AT,
    }
    fields.update(overrides)
    return DashboardData(**fields)


def page(**overrides: Any) -> _Text:
    return read_page(render_html(data(**overrides)))


# --- what the page says, in order --------------------------------------------------------


def test_freshness_comes_first_then_every_question_in_the_seeds_order() -> None:
    html = render_html(data())
    text = read_page(html)
    assert text.headings[0] == "How fresh is this?"
    questions = [f"{n}. {q}" for n, q in enumerate(QUESTIONS.values(), start=1)]
    assert text.headings[1:6] == questions
    assert list(QUESTIONS) == [
        "inventory_changes",
        "fluctuations",
        "stockouts",
        "funnel_by_step",
        "funnel_by_product",
    ]
    # the verdict sits above everything but the title
    assert html.index('id="verdict"') < html.index('id="freshness"')


def test_the_changes_week_over_week() -> None:
    text = page()
    assert text.tables["inventory-changes"][1:] == [
        ["Pothos", "0", "20", "+20", "changed"],
        [QUOTED_NAME, "15", "30", "+15", "changed"],
        ["Bird of Paradise", "–", "12", "–", "new"],
    ]
    assert (
        "From run 3 (Tue 22 Oct 2024, 06:00 UTC) to run 4 (Tue 29 Oct 2024, 06:00 UTC)."
        in text.words
    )
    assert "2 products changed inventory, 1 new, 0 removed; 27 unchanged." in text.words


def test_the_fluctuation_ranking_with_changes_units_moved_range_and_sparkline() -> None:
    html = render_html(data())
    text = read_page(html)
    assert text.tables["fluctuations"][0][:5] == [
        "Rank",
        "Product",
        "Changes",
        "Units moved (Σ|Δ|)",
        "Range",
    ]
    assert [row[:5] for row in text.tables["fluctuations"][1:]] == [
        ["1", SCRIPT_NAME, "3", "106", "58 0–58"],
        ["2", "Pothos", "3", "80", "40 0–40"],
        ["3", QUOTED_NAME, "2", "36", "36 15–51"],
    ]
    assert [row[5] for row in text.tables["fluctuations"][1:]] == ["58 → 48", "40 → 20", "51 → 30"]
    # one sparkline per product, each state a dot, a stockout a red one
    assert html.count("<polyline") == 3
    assert html.count("<circle") == 4 + 4 + 3
    ranking = html[html.index('id="fluctuations"') : html.index('id="stockouts"')]
    assert ranking.count('fill="#b42318"') == 2
    assert "<title>58 → 10 → 0 → 48</title>" in html
    assert (
        "3 products of 30 changed inventory; the most was <script>alert(1)</script>, "
        "with 3 changes and 106 units moved." in text.words
    )


def test_the_stockouts_with_their_spells() -> None:
    html = render_html(data())
    text = read_page(html)
    assert [row[:4] for row in text.tables["stockouts"][1:]] == [
        ["Pothos", "Tue 22 Oct 2024, 06:00 UTC", "Tue 29 Oct 2024, 06:00 UTC with 20", "7"],
        [SCRIPT_NAME, "Tue 22 Oct 2024, 06:00 UTC", "still out of stock", "7"],
    ]
    # each spell is a red bar over the 3-week window: from 2/3 of the way to its end
    spells = re.findall(r'<rect x="([\d.]+)" y="1" width="([\d.]+)"', html)
    third = charts.SPELL_WIDTH * 2 / 3
    assert [(float(x), float(w)) for x, w in spells] == [
        (round(third, 1), round(charts.SPELL_WIDTH / 3, 1)),
        (round(third, 1), round(charts.SPELL_WIDTH / 3, 1)),
    ]
    assert (
        "Yes: 2 products were out of stock in the last 3 weeks; 1 is still out at run 4 "
        "(Tue 29 Oct 2024, 06:00 UTC)." in text.words
    )
    assert "The 3 weeks from Tue 8 Oct 2024, 06:00 UTC to run 4" in text.words


def test_the_funnel_names_both_largest_drop_offs_and_each_step_once() -> None:
    text = page()
    words = text.words
    # by count the first drop is largest, by rate the second: the page names each
    assert "▼ 111 sessions lost (19.2%) · largest drop-off by count" in words
    assert "▼ 106 sessions lost (22.7%) · largest drop-off by rate" in words
    assert (
        "The largest drop-off by count is at step 2, Added to cart: 111 sessions lost (19.2%). "
        "By rate it is at step 3, Checked out: 22.7% of step 2 lost (106 sessions)." in words
    )
    assert "578 sessions · 100.0% of step 1" in words
    assert "467 sessions · 80.8% of step 1" in words
    assert "361 sessions · 62.5% of step 1 · 77.3% of step 2" in words
    # one label per step: the label, never the label and the event type beside it
    funnel_words = words[words.index("4. How are") : words.index("5. How does")]
    for step in STEPS:
        assert funnel_words.count(step.label) == 2 if step.step > 1 else 1
        assert step.event_type not in funnel_words


def test_the_funnel_says_largest_drop_off_once_when_count_and_rate_agree() -> None:
    words = page(report=weekly(funnel_by_step=funnel([1000, 400, 300]))).words
    assert "600 sessions lost (60.0%) · largest drop-off, by count and by rate" in words
    assert (
        "The largest drop-off, by count and by rate, is at step 2, Added to cart: 600 sessions "
        "lost, 60.0% of step 1." in words
    )
    answer = words[words.index("largest drop-off?") + 1 :]
    assert answer.count("largest drop-off") == 2  # the bar's note and the answer


def test_the_per_product_funnel_uses_the_step_labels() -> None:
    rows = page().tables["by-product"]
    assert rows[0] == [
        "Product",
        "Viewed a product page",
        "Added to cart",
        "Checked out",
        "Conversion",
    ]
    assert rows[1:] == [
        ["Pothos", "40", "10 25.0%", "5 50.0%", "12.5%"],
        [SCRIPT_NAME, "20", "0 0.0%", "0 –", "0.0%"],
    ]


def test_an_unanswered_question_says_why() -> None:
    report = weekly(inventory_changes=None, fluctuations=None)
    report.unanswered["inventory_changes"] = "only one snapshot run"
    report.unanswered["fluctuations"] = "no inventory history"
    text = page(report=report)
    assert "No answer yet: only one snapshot run" in text.words
    assert "No answer yet: no inventory history" in text.words
    assert "inventory-changes" not in text.tables


def test_dates_on_the_page_are_words_and_machine_readable_times() -> None:
    html = render_html(data())
    assert "2024-10-22T06:00:00Z" not in read_page(html).words  # no ISO string is shown
    assert '<time datetime="2024-10-22T06:00:00Z">Tue 22 Oct 2024, 06:00 UTC</time>' in html
    assert "<title>Greenery weekly report · Tue 29 Oct 2024</title>" in html


# --- freshness in words --------------------------------------------------------------------


def verdict(**kwargs: Any) -> tuple[str, str, str]:
    checks = kwargs.pop("checks", None)
    schedule = kwargs.pop("schedule", None)
    summary = summarise(
        checks if checks is not None else freshness(**kwargs), GENERATED_AT, schedule
    )
    return summary.verdict.status, summary.verdict.headline, summary.verdict.sentence


def test_fresh_sources_say_their_last_load_and_newest_record() -> None:
    assert verdict() == (
        "pass",
        "Fresh",
        "every source was loaded within its limits, last 3 h ago (Tue 29 Oct 2024, 04:30 UTC); "
        "the newest record is from Fri 12 Feb 2021, 08:55 UTC (3 years ago).",
    )


def test_a_load_older_than_error_after_is_stale_data() -> None:
    status, headline, sentence = verdict(load_age=timedelta(days=3, hours=2))
    assert (status, headline) == ("error", "Stale data")
    assert sentence == (
        "every source was last loaded 3 days ago (Sat 26 Oct 2024, 05:30 UTC), past the error "
        "limit of 2 days."
    )


def test_a_load_past_warn_after_is_getting_old() -> None:
    status, headline, sentence = verdict(load_age=timedelta(hours=30))
    assert (status, headline) == ("warn", "Getting old")
    assert "past the warning limit of 1 day" in sentence and "30 h ago" in sentence


def test_the_worst_source_is_named_with_its_cause() -> None:
    never = {"loaded_at": None, "load_age_s": None, "status": "error", "note": "never loaded"}
    status, _, sentence = verdict(raw__events=never)
    assert status == "error"
    assert sentence == "raw.events was never loaded."
    record = {
        "record_error_after": "7d",
        "status": "error",
        "record_age_s": 30 * 86400.0,
        "newest_record_at": GENERATED_AT - timedelta(days=30),
    }
    _, _, sentence = verdict(raw__orders=record)
    assert sentence == (
        "raw.orders holds nothing newer than 30 days ago (Sun 29 Sep 2024, 07:30 UTC), past its "
        "error limit of 7 days for new records."
    )


def test_a_model_older_than_its_inputs_is_named() -> None:
    stale = {"status": "warn", "note": "stale: raw.events changed after run 1 built it"}
    checks = freshness(staging__stg_events=stale)
    status, headline, sentence = verdict(checks=checks)
    assert (status, headline) == ("warn", "Getting old")
    assert "1 model is older than its inputs or never built (staging.stg_events)" in sentence
    text = page(freshness=checks)
    # the problem models are listed under the freshness section, every model at the end
    assert [row[0] for row in text.tables["problem-builds"][1:]] == ["staging.stg_events"]
    assert len(text.tables["all-builds"]) == 1 + len(MODELS) + 1
    assert text.tables["problem-builds"][1][3] == (
        "! older stale: raw.events changed after run 1 built it"
    )


def test_a_node_past_its_schedule_cell_is_behind_schedule() -> None:
    schedule = pl.DataFrame(
        {
            "node": ["stg_events", "fct_sessions", "products_snapshot"],
            "node_type": ["model", "model", "snapshot"],
            "cell": ["hourly/Marketing", "daily/Core", "daily/Product"],
            "last_run_at": [GENERATED_AT - timedelta(hours=3)] * 3,
            "age_hours": [3.0, 3.0, 3.0],
            "allowed_hours": [1.5, 36.0, 36.0],
            "status": ["overdue", "ok", "ok"],
        }
    )
    status, headline, sentence = verdict(schedule=schedule)
    assert (status, headline) == ("warn", "Behind schedule")
    assert sentence.endswith(
        "but staging.stg_events missed its schedule: it last ran 3 h ago and is in "
        "hourly/Marketing, which allows 90 min."
    )
    summary = summarise(freshness(), GENERATED_AT, schedule)
    assert summary.builds_sentence == (
        "All 2 models are up to date with their inputs; staging.stg_events missed its schedule; "
        "the last model build was 2 h ago (Tue 29 Oct 2024, 04:30 UTC). The inventory "
        "snapshot's latest run holds the state as of Tue 29 Oct 2024, 06:00 UTC (1 h ago)."
    )
    on_time = schedule.with_columns(pl.lit("ok").alias("status"))
    assert "up to date with their inputs and on schedule; the last model build" in (
        summarise(freshness(), GENERATED_AT, on_time).builds_sentence
    )
    text = page(schedule=schedule)
    rows = {row[0]: row for row in text.tables["all-builds"][1:]}
    assert rows["staging.stg_events"][4] == "! overdue hourly/Marketing: at most 90 min old"
    assert rows["marts.fct_sessions"][4] == "✓ on time daily/Core: at most 36 h old"


def test_a_project_without_a_schedule_matrix_says_so() -> None:
    words = page(schedule_problem="seeds/schedule.csv is missing").words
    assert "The schedule matrix could not be read: seeds/schedule.csv is missing." in words
    assert "on schedule" not in words


def test_the_stale_banner_is_colour_and_words_at_the_top() -> None:
    html = render_html(data(freshness=freshness(load_age=timedelta(days=3))))
    banner = html[
        html.index('<div id="verdict"') : html.index("</div>", html.index('<div id="verdict"'))
    ]
    assert 'class="verdict error"' in banner and 'role="alert"' in banner
    assert "<strong>Stale data:</strong> every source was last loaded 3 days ago" in banner
    assert "<title>Stale data · Greenery weekly report" in html
    fresh = render_html(data())
    assert 'class="verdict pass"' in fresh and "Stale data" not in fresh


def test_sources_show_last_load_newest_record_and_verdict() -> None:
    rows = page(freshness=freshness(load_age=timedelta(days=3))).tables["sources"]
    assert rows[0] == ["Source", "Last load", "Newest record", "Verdict"]  # limits said once
    # both fail alike: the verdict above says why once, the rows say error
    assert rows[1] == [
        "raw.orders",
        "Sat 26 Oct 2024, 07:30 UTC 3 days ago",
        "Fri 12 Feb 2021, 08:55 UTC 3 years ago",
        "✕ error",
    ]
    never = {"loaded_at": None, "load_age_s": None, "status": "error", "note": "never loaded"}
    rows = page(freshness=freshness(load_age=timedelta(days=3), raw__events=never)).tables[
        "sources"
    ]
    assert [row[3] for row in rows[1:]] == [
        "✕ error was last loaded 3 days ago (Sat 26 Oct 2024, 07:30 UTC), past its error limit "
        "of 2 days",
        "✕ error was never loaded",
    ]
    assert rows[2][1] == "never"


# --- escaping and self-containment --------------------------------------------------------


def test_hostile_names_render_as_text() -> None:
    hostile_label = '<img src=x onerror="alert(2)"> & "quoted"'
    steps = tuple(FunnelStep(s.step, s.event_type, hostile_label) for s in STEPS)
    bell = "Bell\x07 \x1b[31mred\x1b[0m Fern"
    report = weekly(
        funnel_by_step=funnel([10, 5, 1], steps),
        inventory_changes=InventoryChanges(
            changes().rows.with_columns(pl.Series("name", [bell, "<b>bold</b>", "x"])),
            point(3),
            point(4),
            0,
        ),
    )
    html = render_html(data(report=report))
    text = read_page(html)
    assert "script" not in text.tags and "img" not in text.tags and "b" not in text.tags
    assert re.search(r"<\s*script", html, re.IGNORECASE) is None
    assert "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Ferns &#34;fancy&#34; &amp; Co&#39;s" in html
    # read back as text, each name is exactly what the data held, in its own <bdi>
    assert SCRIPT_NAME in text.words and hostile_label in text.words
    assert '<bdi class="name">&lt;script&gt;alert(1)&lt;/script&gt;</bdi>' in html
    # control characters never reach the page
    assert "\x07" not in html and "\x1b" not in html
    assert "Bell [31mred[0m Fern" in text.words


def test_page_loads_nothing_from_anywhere() -> None:
    html = render_html(data())
    links = re.findall(r"""\b(src|href|srcset|action|poster|data)\s*=\s*"([^"]*)\"""", html, re.I)
    assert all(attribute == "href" and value.startswith("#") for attribute, value in links)
    assert re.search(r"url\s*\(|@import|https?:|//[a-z0-9.-]+\.[a-z]{2,}", html, re.I) is None
    assert "default-src 'none'" in html  # and the browser is told to refuse anything that slips in
    assert "<script" not in html and "<link" not in html


def test_a_print_style_sheet_is_included() -> None:
    html = render_html(data())
    assert "@media print" in html and "@page" in html


# --- the pictures' geometry ---------------------------------------------------------------


def test_funnel_bars_are_shares_of_the_widest_step() -> None:
    bars = charts.funnel_bars(funnel_frame([400, 100, 0]).to_dicts(), {1: "a", 2: "b"})
    assert [(b.label, b.kept_pct, b.lost_pct) for b in bars] == [
        ("a", 100.0, 0.0),
        ("b", 25.0, 75.0),
        ("checkout", 0.0, 25.0),  # no label: the event type
    ]


def test_a_sparkline_spans_its_box_and_marks_zero() -> None:
    line = charts.sparkline([5, None, 0, 10])
    assert [p.inventory for p in line.points] == [5, 0, 10]
    assert [p.stockout for p in line.points] == [False, True, False]
    assert line.points[0].x == charts.SPARK_PAD
    assert line.points[-1].x == charts.SPARK_WIDTH - charts.SPARK_PAD
    assert line.points[1].y == line.baseline and line.points[2].y == charts.SPARK_PAD
    single = charts.sparkline([3])
    assert [p.x for p in single.points] == [charts.SPARK_WIDTH / 2]


def test_a_spell_is_clipped_to_its_window() -> None:
    window = (RUN_TIMES[0], RUN_TIMES[0] + timedelta(days=20))
    before = charts.spell(
        RUN_TIMES[0] - timedelta(days=5), RUN_TIMES[0] + timedelta(days=5), window
    )
    assert (before.x, before.length) == (0.0, charts.SPELL_WIDTH / 4)
    still = charts.spell(window[1], None, window)
    assert still.open_ended and still.x + still.length <= charts.SPELL_WIDTH


# --- the warehouse is only read -----------------------------------------------------------


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_report_page_writes_nothing_to_the_warehouse(
    loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    db = tmp_path / "wh.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    with open_warehouse(db) as wh:
        runs = wh.scalar("select count(*) from meta.runs")
    before = digest(db)
    db.chmod(0o444)  # a write would fail outright
    try:
        result = run_cli("--db", str(db), "report", "--html", str(tmp_path / "r.html"))
    finally:
        db.chmod(0o644)
    assert result.exit_code == 0, result.stderr
    assert digest(db) == before
    assert not (tmp_path / "wh.duckdb.wal").exists()
    with open_warehouse(db) as wh:
        assert wh.scalar("select count(*) from meta.runs") == runs
        assert not wh.table_exists("meta", "freshness_checks")  # freshness measured, not recorded
    text = read_page((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "raw.events" in [row[0] for row in text.tables["sources"]]


def test_the_page_measures_freshness_as_greenery_freshness_does(
    loaded_real_warehouse: Path, tmp_path: Path
) -> None:
    from greenery_cli.freshness import FreshnessSettings, check_freshness, measure_freshness

    db = tmp_path / "wh.duckdb"
    shutil.copy(loaded_real_warehouse, db)
    now = datetime.now(UTC) + timedelta(days=1, hours=1)
    with open_warehouse(db) as wh:
        measured = measure_freshness(wh, now)
    recorded = check_freshness(FreshnessSettings(db=db, now=now)).checks
    assert measured.equals(recorded)
    # a day old: every source warns; no snapshot yet: skipped
    assert set(measured.filter(pl.col("kind") == "source")["status"]) == {"warn"}
    assert set(measured["status"]) == {"warn", "pass", "skip"}


# --- writing the file ---------------------------------------------------------------------


def test_write_dashboard_writes_one_file_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    written = write_dashboard(out / "report.html", data())
    assert written == out / "report.html"
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert written.read_text(encoding="utf-8") == render_html(data())
    with pytest.raises(UsageError, match="is a folder"):
        write_dashboard(out, data())
    with pytest.raises(UsageError, match="does not exist"):
        write_dashboard(tmp_path / "nope" / "r.html", data())


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
    assert {"meta.loads", "meta.model_builds", "fct_product_funnel_events"} <= set(depends_on)
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
    toml.write_text(toml.read_text().replace('"fct_event_path"', '"fct_event_pth"'))
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(project))
    db = tmp_path / "wh.duckdb"
    with open_warehouse(db, write=True):
        pass
    result = run_cli("--db", str(db), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "exposures.toml" in result.stderr and "fct_event_pth" in result.stderr
