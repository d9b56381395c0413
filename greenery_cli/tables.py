"""Tables that fit the width they are given, by one rule for every command.

Each table declares its columns (`Col`) and a `Layout`: the columns that answer the question
are essential and are never cut; the optional ones are named in `Layout.drops`, first dropped
first, and leave the table (or move beneath it, `Layout.below`) one at a time until the rest
fits. Numbers, statuses and names never wrap; only columns declared `wrap=True` (free text)
wrap, at word boundaries, and never narrower than their longest word. What was left out is
said under the table. docs/output.md describes the rule and lists each table's drop order.

The width is the console's: the terminal's, or GREENERY_WIDTH; output that is not a terminal
gets a console wide enough that every column is shown and nothing wraps (see output.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table

    from greenery_cli.output import Frame


class Col(NamedTuple):
    """One column of a table, as people read it."""

    name: str  # the key in each row
    header: str | None = None  # the heading (default: the name)
    wrap: bool = False  # free text: may wrap at word boundaries where it must
    min_width: int = 0  # a wrapping column is never narrower (nor than its longest word)
    numeric: bool | None = None  # right-aligned; default: when the values are numbers
    fmt: Callable[[Any], str] | None = None  # the cell's text; default `cell_text`
    style: Callable[[Any], str] | None = None  # a Rich style for the value ("" for none)
    legend: str | None = None  # said under the table while the column is shown

    @property
    def heading(self) -> str:
        return self.name if self.header is None else self.header


class Layout:
    """A table's columns and what gives way, in order, when they do not fit (a plain class:
    every question's view module defines one, and a frozen dataclass costs about a millisecond
    of start-up to define)."""

    __slots__ = ("below", "columns", "drops", "key", "simple")

    def __init__(
        self,
        columns: tuple[Col, ...],
        drops: tuple[str, ...] = (),
        below: frozenset[str] = frozenset(),
        key: str | None = None,
        simple: bool = False,
    ) -> None:
        self.columns: Final = columns
        self.drops: Final = drops  # optional columns, the first leaves first
        self.below: Final = below  # of those, the ones listed beneath the table
        self.key: Final = key  # the column naming a row in the lines beneath (default: first)
        self.simple: Final = simple  # a header rule and no borders (the funnel's look)
        names = [c.name for c in columns]
        unknown = [n for n in (*drops, *below) if n not in names]
        assert not unknown, f"layout names columns it does not have: {unknown}"
        assert below <= set(drops), "a column moved below must be in drops"

    @property
    def essential(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.name not in self.drops)

    @classmethod
    def of_frame(cls, df: Frame, keep: Sequence[str] = ()) -> Layout:
        """Any frame (`greenery query`): text wraps; the `keep` columns present (else the
        first column) come first and stay, the others give way from the right."""
        kept = [n for n in keep if n in df.columns] or df.columns[:1]
        order = [*kept, *(n for n in df.columns if n not in kept)]
        columns = tuple(
            Col(
                name,
                wrap=df.schema[name].to_python() is str,
                min_width=16,
                numeric=df.schema[name].is_numeric(),
            )
            for name in order
        )
        return cls(columns, drops=tuple(reversed(order[len(kept) :])))


def cell_text(value: Any) -> str:
    """A value in a table cell: times to the second in UTC (titles say so), else as elsewhere."""
    from greenery_cli.output import text_cell

    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return text_cell(value)


class FittedTable:
    """A Rich renderable: the table laid out for the width it is rendered at."""

    def __init__(
        self,
        layout: Layout,
        rows: Sequence[Mapping[str, Any]],
        title: str | None = None,
        caption: str | None = None,
        legends: Mapping[str, str] | None = None,  # per column, beside the Col's own legend
    ) -> None:
        from greenery_cli.output import visible

        self.layout, self.rows, self.title, self.caption = layout, rows, title, caption
        self.legends = legends
        # control characters shown as escapes before measuring, so a column fits what is shown
        self._cells = {
            c.name: [
                visible((c.fmt or cell_text)(row.get(c.name)), newlines=True) for row in self.rows
            ]
            for c in self.present
        }

    @property
    def present(self) -> list[Col]:
        """The declared columns the rows have (a view may leave some out)."""
        first = self.rows[0] if self.rows else None
        return [c for c in self.layout.columns if first is None or c.name in first]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        width = options.max_width
        shown, left = self.fit(width)
        widths = _distribute(
            [self._natural(c) for c in shown],
            [
                [self._minimum(c) for c in shown],
                [self._longest_word(c) for c in shown],
                [min(8, self._longest_word(c)) for c in shown],
            ],
            [c.wrap for c in shown],
            width - self._overhead(len(shown)),
        )
        if self.title:
            yield Text(self.title, style="italic")
        yield self._table(shown, widths)
        for col in shown:
            legend = (self.legends or {}).get(col.name) or col.legend
            if legend:
                yield Text(f"{col.heading}: {legend}", style="dim")
        if self.caption:
            yield Text(self.caption)
        below = [c for c in left if c.name in self.layout.below]
        dropped = [c for c in left if c.name not in self.layout.below]
        for col in below:
            yield from self._below(col, width)
        if dropped:
            names = ", ".join(c.heading for c in dropped)
            yield Text(
                f"Not shown at {width} columns: {names} (a wider terminal or --format csv/json "
                "shows them).",
                style="dim",
            )

    def fit(self, width: int) -> tuple[list[Col], list[Col]]:
        """The columns shown at this width and those that gave way, in drop order."""
        shown = self.present
        left: list[Col] = []
        droppable = [n for n in self.layout.drops if any(c.name == n for c in shown)]
        while self._least(shown) > width and droppable:
            name = droppable.pop(0)
            left += [c for c in shown if c.name == name]
            shown = [c for c in shown if c.name != name]
        return shown, left

    def _least(self, shown: list[Col]) -> int:
        return sum(self._minimum(c) for c in shown) + self._overhead(len(shown))

    def _overhead(self, count: int) -> int:
        """Borders and padding: `│ a │ b │` is 3 per column + 1; the simple look `a   b` 3 per
        gap (a space either side of an invisible rule)."""
        return 3 * max(count - 1, 0) if self.layout.simple else 3 * count + 1

    def _natural(self, col: Col) -> int:
        return max([_cell_len(col.heading), *(_cell_len(t) for t in self._cells[col.name])])

    def _minimum(self, col: Col) -> int:
        """The narrowest a column gets before optional columns give way: a number's or a
        status's full width; a wrapping column's `min_width` (or its longest word if longer)."""
        if not col.wrap:
            return self._natural(col)
        return max(self._longest_word(col), min(col.min_width, self._natural(col)))

    def _longest_word(self, col: Col) -> int:
        if not col.wrap:
            return self._natural(col)
        words = [w for t in self._cells[col.name] for w in t.split()]
        return max([_cell_len(col.heading), *(_cell_len(w) for w in words)])

    def _table(self, shown: list[Col], widths: list[int]) -> Table:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        simple = self.layout.simple
        table = Table(
            box=box.SIMPLE_HEAD if simple else box.HEAVY_HEAD,
            show_edge=not simple,
            pad_edge=not simple,
        )
        for col, col_width in zip(shown, widths, strict=True):
            table.add_column(
                Text(col.heading),
                justify="right" if self._numeric(col) else "left",
                width=col_width,
                no_wrap=not col.wrap,
                overflow="fold" if col.wrap else "ellipsis",
            )
        for index, row in enumerate(self.rows):
            cells = []
            for col in shown:
                style = col.style(row.get(col.name)) if col.style else ""
                cells.append(Text(self._cells[col.name][index], style=style or ""))
            table.add_row(*cells)
        return table

    def _numeric(self, col: Col) -> bool:
        if col.numeric is not None:
            return col.numeric
        values = [row.get(col.name) for row in self.rows]
        known = [v for v in values if v is not None]
        return bool(known) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in known
        )

    def _below(self, col: Col, width: int) -> Iterator[Any]:
        """A free-text column beneath the table: each row's text beside its key, or, when the
        keys leave too little room, under it; a text of several lines (examples) one bullet
        per line, each wrapping under itself."""
        from rich.table import Table
        from rich.text import Text

        key = self.layout.key or self.layout.columns[0].name
        lines = [
            (f"{row.get(key, '')}:", text)
            for row, text in zip(self.rows, self._cells[col.name], strict=True)
            if text
        ]
        if not lines:
            return
        yield Text(f"{col.heading}:", style="bold")
        keys = max(_cell_len(name) for name, _ in lines) + 2
        longest_word = max(_cell_len(w) for _, text in lines for w in text.split())
        several = any("\n" in text for _, text in lines)
        if not several and width - keys - 1 >= max(min(30, longest_word), 1):
            grid = Table.grid(padding=(0, 1), pad_edge=False)
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for name, text in lines:
                grid.add_row(Text(f"  {name}"), Text(text))
            yield grid
            return
        for name, text in lines:
            yield Text(f"  {name}")
            grid = Table.grid(padding=(0, 1), pad_edge=False)
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for line in text.split("\n"):
                grid.add_row(Text("   -" if several else "   "), Text(line))
            yield grid


def _cell_len(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def _distribute(
    natural: list[int], floors: list[list[int]], wrap: list[bool], room: int
) -> list[int]:
    """Column widths: natural where they fit, else the widest wrapping columns narrowed one
    character at a time down to each floor in turn: their minimum, then their longest word;
    only when the essential columns cannot fit even so (a very narrow terminal) do they fold
    inside words, down to 8, and Rich shortens what is still too wide."""
    widths = list(natural)
    excess = sum(widths) - room
    for floor in floors:
        while excess > 0:
            narrowable = [i for i, w in enumerate(widths) if wrap[i] and w > floor[i]]
            if not narrowable:
                break
            widest = max(narrowable, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    return widths


def frame_rows(df: Frame) -> list[dict[str, Any]]:
    return list(df.iter_rows(named=True))


def fitted(
    df: Frame | Iterable[Mapping[str, Any]],
    layout: Layout | None = None,
    title: str | None = None,
    caption: str | None = None,
    legends: Mapping[str, str] | None = None,
) -> FittedTable:
    """A frame (or rows) as a table that fits; a frame without a layout gets `of_frame`'s."""
    if hasattr(df, "schema") and hasattr(df, "iter_rows"):  # Rows or a polars DataFrame
        frame = cast("Frame", df)
        layout = layout or Layout.of_frame(frame)
        return FittedTable(layout, frame_rows(frame), title, caption, legends)
    assert layout is not None, "rows need a layout"
    return FittedTable(layout, list(df), title, caption, legends)


def documented_row(command: str, layout: Layout) -> str:
    """The line docs/output.md gives a table: what never gives way, then what does, in order."""
    by_name = {c.name: c.heading for c in layout.columns}
    kept = ", ".join(by_name[n] for n in layout.essential)
    gives = ", ".join(
        f"{by_name[n]} (below)" if n in layout.below else by_name[n] for n in layout.drops
    )
    return f"| `{command}` | {kept} | {gives or '—'} |"
