"""The speed targets of issues 15 and 20, each checked against the results it applies to.

kinds: `limit` greenery / hand-written median at most `limit`; `dbt` greenery ahead of dbt
(dbt / greenery at least `limit`); `relative` greenery's median at most `limit` times greenery's
median on item `relative_to` of the same dataset; `rss` greenery's peak RSS at most `limit` MB.
"""

from __future__ import annotations

from dataclasses import dataclass

from results import Row, ratio, seconds

QUESTIONS = (
    "funnel-by-step",
    "funnel-by-product",
    "inventory-changes",
    "fluctuations",
    "stockouts",
)


@dataclass(frozen=True)
class Target:
    issue: int
    label: str
    kind: str
    limit: float
    items: tuple[str, ...] | None = None  # None: every item
    datasets: tuple[str, ...] | None = None  # None: every dataset
    relative_to: str = ""


TARGETS = (
    Target(
        20,
        "a question on the real-size warehouse within 1.5x hand-written",
        "limit",
        1.5,
        QUESTIONS,
        ("real",),
    ),
    Target(
        20,
        "questions at scales 1,000 and 10,000 within 1.1x hand-written",
        "limit",
        1.1,
        QUESTIONS,
        ("scale 1000", "scale 10000"),
    ),
    Target(
        20,
        "snapshot of 3M products, 10% changed, within 1.25x the hand-written merge",
        "limit",
        1.25,
        ("snapshot",),
        ("3000000 products",),
    ),
    Target(20, "ahead of dbt-duckdb on every work item at every scale", "dbt", 1.0),
    Target(
        15,
        "full load at scale 1,000 within 1.5x the hand-written raw CREATE TABLE AS",
        "limit",
        1.5,
        ("load",),
        ("scale 1000",),
    ),
    Target(
        15,
        "hourly refresh at scale 1,000 within 10% of the full load",
        "relative",
        0.10,
        ("hourly-refresh",),
        ("scale 1000",),
        "load",
    ),
    Target(
        15,
        "reload with nothing changed within 5% of the full load",
        "relative",
        0.05,
        ("reload",),
        ("scale 1000",),
        "load",
    ),
    Target(
        15,
        "new files to funnel --by-step at scale 1,000 no slower than dbt",
        "dbt",
        1.0,
        ("files-to-funnel",),
        ("scale 1000",),
    ),
    Target(
        15,
        "greenery's peak RSS at scales 1,000 and 10,000 within 4 GB",
        "rss",
        4096,
        None,
        ("scale 1000", "scale 10000"),
    ),
)


def applies(target: Target, row: Row) -> bool:
    return (target.items is None or row.item in target.items) and (
        target.datasets is None or row.dataset in target.datasets
    )


def evaluate(target: Target, rows: list[Row]) -> list[str]:
    """Markdown lines: the target, then each figure measured against it (or that none was)."""
    head = f"- issue {target.issue}: {target.label}:"
    found = []
    for row in rows:
        if not applies(target, row) or row.skipped or "greenery" not in row.contenders:
            continue
        g = row.contenders["greenery"]
        if target.kind == "limit" and "hand-written" in row.contenders:
            value = ratio(g, row.contenders["hand-written"])
            met, text = value <= target.limit, f"{value:.2f}x"
        elif target.kind == "dbt" and "dbt" in row.contenders:
            value = ratio(row.contenders["dbt"], g)
            met, text = value >= target.limit, f"dbt / greenery {value:.2f}x"
        elif target.kind == "relative":
            other = next(
                (
                    r
                    for r in rows
                    if r.dataset == row.dataset
                    and r.item == target.relative_to
                    and "greenery" in r.contenders
                ),
                None,
            )
            if other is None:
                continue
            value = ratio(g, other.contenders["greenery"])
            met, text = value <= target.limit, f"{value:.0%} ({seconds(g.median)} of "
            text += f"{seconds(other.contenders['greenery'].median)})"
        elif target.kind == "rss":
            value = g.peak_rss
            met, text = value <= target.limit, f"{value:.0f} MB"
        else:
            continue
        found.append((met, f"{row.dataset} {row.title}: {text}"))
    if not found:
        return [f"{head} **not measured** in these results"]
    if target.kind in ("dbt", "rss") and len(found) > 3:
        missed = [text for met, text in found if not met]
        summary = f"met on {len(found) - len(missed)} of {len(found)}"
        lines = [f"{head} {summary}" + ("" if missed else ", **met**")]
        lines += [f"  - **MISSED**: {text}" for text in missed]
        return lines
    lines = [head]
    lines += [f"  - {text}: **{'met' if met else 'MISSED'}**" for met, text in found]
    return lines
