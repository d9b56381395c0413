"""The table layout rule on hand-built rows: what never gives way, what does and in which
order, where text wraps; plain lines off a terminal; docs/output.md lists every layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from greenery_cli.tables import Col, Layout, documented_row, fitted
from tests.conftest import run_cli

PLANTS = [
    {"name": "String of pearls", "status": "changed", "count": 1234567, "note": "one two three"},
    {"name": "ZZ Plant", "status": "new", "count": 5, "note": "a longer note about the plant"},
]
LAYOUT = Layout(
    (
        Col("name", wrap=True, min_width=8),
        Col("status"),
        Col("count"),
        Col("wide_a"),
        Col("wide_b"),
        Col("note", wrap=True),
    ),
    drops=("wide_b", "note", "wide_a"),
    below=frozenset({"note"}),
)
ROWS = [{**row, "wide_a": "A" * 10, "wide_b": "B" * 10} for row in PLANTS]


def text_at(width: int, rows: list[dict[str, object]] = ROWS, layout: Layout = LAYOUT) -> str:
    from rich.console import Console

    console = Console(width=width, no_color=True, highlight=False)
    with console.capture() as capture:
        console.print(fitted(rows, layout))
    return capture.get()


def test_everything_is_shown_when_it_fits() -> None:
    out = text_at(200)
    assert all(h in out for h in ("wide_a", "wide_b", "one two three", "1234567"))
    assert "Not shown" not in out


def test_optional_columns_give_way_in_the_declared_order() -> None:
    # all columns at their minimum need 67: name 8, status 7, count 7, 10, 10, note 6 + borders
    assert "wide_b" in text_at(67)
    out = text_at(66)
    assert "wide_b" not in out.split("Not shown")[0] and "wide_a" in out and "┃ note" in out
    assert "Not shown at 66 columns: wide_b " in out


def test_a_column_marked_below_moves_beneath_the_table() -> None:
    out = text_at(53)
    table, rest = out.split("┘", 1)
    assert "wide_a" in table and "note" not in table
    assert "note:" in rest and "String of pearls: one two three" in rest
    assert "ZZ Plant:" in rest and "a longer note about the plant" in rest
    assert "Not shown at 53 columns: wide_b " in rest


def test_essential_columns_are_never_cut_when_the_optional_ones_leave_room() -> None:
    out = text_at(34)
    assert "wide_a" in out.split("┘")[1]  # named as not shown
    assert "1234567" in out and "changed" in out and "status" in out
    assert "…" not in out
    # the name wraps at its space, never inside a word
    names = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]
    assert names == ["String of", "pearls", "ZZ Plant"]


def test_text_wraps_at_words_only_when_it_must() -> None:
    rows = [{"name": "String of pearls", "status": "ok"}]
    layout = Layout((Col("name", wrap=True), Col("status")))
    assert "String of pearls" in text_at(40, rows, layout)
    narrow = text_at(20, rows, layout)
    assert "String of pearls" not in narrow
    names = [line.split("│")[1].strip() for line in narrow.splitlines() if line.startswith("│")]
    assert names == ["String", "of", "pearls"]


def test_legends_are_said_while_their_column_is_shown() -> None:
    from rich.console import Console

    rows = [{"name": "Pothos", "bar": "████"}]
    layout = Layout((Col("name"), Col("bar", legend="share of the first step")), drops=("bar",))
    console = Console(width=200, no_color=True)
    with console.capture() as capture:
        console.print(fitted(rows, layout))
    assert "bar: share of the first step" in capture.get()
    console = Console(width=10, no_color=True)
    with console.capture() as capture:
        console.print(fitted(rows, layout))
    assert "share of the first step" not in capture.get()


def test_a_layout_naming_a_column_it_lacks_is_refused() -> None:
    with pytest.raises(AssertionError):
        Layout((Col("name"),), drops=("nmae",))


def test_plain_lines_off_a_terminal_keep_every_column_unwrapped(
    loaded_real_warehouse: Path,
) -> None:
    """No GREENERY_WIDTH and stdout not a terminal (the test runner): unlimited width."""
    sql = (
        "select address_id, address, zipcode, state, country, address || ' ' || address "
        "as twice from raw.addresses order by address_id limit 3"
    )
    result = run_cli("--db", str(loaded_real_warehouse), "query", sql)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "Not shown" not in result.stdout
    assert len(lines) == 3 + 4  # top rule, header, header rule, 3 rows, bottom rule
    assert all("twice" in lines[1] for _ in [0]) and max(map(len, lines)) > 120
    assert all(line == line.rstrip() for line in lines)


def test_stderr_messages_stay_on_one_line_off_a_terminal(loaded_real_warehouse: Path) -> None:
    result = run_cli("--db", str(loaded_real_warehouse), "funnel", "--format", "csv")
    assert result.exit_code == 0
    counted = [line for line in result.stderr.splitlines() if line.startswith("counted:")]
    assert counted and "entry" in counted[0]


def test_docs_list_every_layouts_drop_order() -> None:
    from greenery_cli.views import funnel, inventory
    from greenery_cli.views.listings import LAYOUTS

    documented = {
        **LAYOUTS,
        "inventory-changes": inventory.INVENTORY_CHANGES,
        "fluctuations": inventory.FLUCTUATIONS,
        "stockouts": inventory.STOCKOUTS,
        "funnel --by-step": funnel.BY_STEP,
        "funnel --by product": funnel.BY_PRODUCT,
        "funnel --list": funnel.UNITS,
        "funnel --time-to-convert": funnel.TIME_TO_CONVERT,
    }
    page = (Path(__file__).parent.parent / "docs" / "output.md").read_text()
    missing = [
        row
        for name, layout in documented.items()
        if (row := documented_row(name, layout)) not in page
    ]
    assert not missing, "docs/output.md is stale; its table should have:\n" + "\n".join(missing)
