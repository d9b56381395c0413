"""How fresh the warehouse is, in words: each source, model and the snapshot, and one verdict.

Built from the rows `freshness.measure_freshness` returns (the `greenery freshness` JSON rows)
and, where the project has one, the schedule matrix's `schedule.node_ages`; nothing here reads
the warehouse or decides a status the freshness module did not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from greenery_cli.freshness import STATUS_RANK, parse_duration, status_for
from greenery_cli.timewords import age_in_words, limit_in_words, moment_in_words

if TYPE_CHECKING:
    import polars as pl

T = TypeVar("T")
HEADLINES = {"pass": "Fresh", "warn": "Getting old", "error": "Stale data"}
NAMES_IN_A_SENTENCE = 3


@dataclass(frozen=True)
class SourceFreshness:
    name: str  # raw.<table>
    status: str  # pass | warn | error, as `greenery freshness` says
    loaded_at: datetime | None
    load_age_s: float | None
    newest_record_at: datetime | None
    record_age_s: float | None
    limits: str  # "warn after 24 h, error after 48 h"
    record_limits: str  # the same for the newest record, "" where none is declared
    cause: str  # what made it warn or error, as a sentence's predicate; "" when it passes
    note: str  # the freshness check's own note


@dataclass(frozen=True)
class BuildFreshness:
    kind: str  # model | snapshot
    name: str  # <layer>.<model> or snapshots.products_snapshot
    status: str  # pass | warn | skip (the freshness check's)
    built_at: datetime | None
    age_s: float | None
    duration_s: float | None
    inputs: str  # "up to date", or why not (the check's note)
    cell: str | None  # the schedule matrix cell, e.g. hourly/Marketing
    schedule_status: str | None  # ok | overdue | never; None without a matrix
    allowed_s: float | None  # the age the cell allows
    ran_age_s: float | None = None  # how long ago it last ran, as the schedule counts it

    @property
    def overdue(self) -> bool:
        return self.schedule_status in ("overdue", "never")


@dataclass(frozen=True)
class Verdict:
    status: str  # pass | warn | error
    headline: str
    sentence: str


@dataclass(frozen=True)
class FreshnessSummary:
    checked_at: datetime
    sources: list[SourceFreshness]
    builds: list[BuildFreshness]
    verdict: Verdict
    data_as_of: datetime | None  # the newest record in any source
    schedule_problem: str | None = None  # why the schedule columns are empty

    @property
    def stale(self) -> bool:
        return self.verdict.status == "error"

    @property
    def shared_limits(self) -> tuple[str, str] | None:
        """(limits, record limits) when every source declares the same: said once, not per row."""
        limits = {(s.limits, s.record_limits) for s in self.sources}
        return limits.pop() if len(limits) == 1 else None

    @property
    def shared_cause(self) -> bool:
        """Every source fails for the same reason (the verdict says it once for all)."""
        causes = {s.cause for s in self.sources}
        return len(self.sources) > 1 and len(causes) == 1 and causes != {""}

    @property
    def problem_builds(self) -> list[BuildFreshness]:
        """The models and snapshot that are older than their inputs, never built, or overdue."""
        return [b for b in self.builds if b.status == "warn" or b.overdue]

    @property
    def builds_sentence(self) -> str:
        """The models and the snapshot in one or two sentences."""
        models = [b for b in self.builds if b.kind == "model"]
        behind = [b for b in models if b.status == "warn"]
        overdue = [b for b in self.builds if b.overdue]
        if not models:
            said = "The project has no models"
        elif not behind:
            every = "The model is" if len(models) == 1 else f"All {len(models)} models are"
            said = f"{every} up to date with their inputs"
        else:
            said = (
                f"{len(behind)} of {len(models)} {_is(len(models), 'model')} older than "
                f"{_its(len(behind))} inputs or never built"
            )
        if overdue:
            names = _names([b.name for b in overdue])
            said += f"; {names} missed {_its(len(overdue))} schedule"
        elif any(b.cell for b in models):
            said += " and on schedule"
        last = _latest((b.built_at, b) for b in models)
        if last is not None:
            when = f"{age_in_words(last[1].age_s)} ({moment_in_words(last[0])})"
            said += f"; the last model build was {when}"
        parts = [said + "."]
        snapshot = next((b for b in self.builds if b.kind == "snapshot"), None)
        if snapshot is not None and snapshot.built_at is None:
            parts.append("There is no inventory snapshot yet.")
        elif snapshot is not None and snapshot.built_at is not None:
            parts.append(
                f"The inventory snapshot's latest run holds the state as of "
                f"{moment_in_words(snapshot.built_at)} ({age_in_words(snapshot.age_s)})."
            )
        return " ".join(parts)


def _limits(warn: str | None, error: str | None) -> str:
    parts = [
        f"{word} after {limit_in_words(parse_duration(limit))}"
        for word, limit in (("warn", warn), ("error", error))
        if limit
    ]
    return ", ".join(parts)


def _cause(row: dict[str, Any]) -> str:
    """Why a source is not `pass`, said of the table: 'was last loaded 3 days ago (...)...'."""
    status = row["status"]
    if status == "pass":
        return ""
    if row["loaded_at"] is None:
        return "was never loaded"
    level = "error" if status == "error" else "warning"
    load = status_for(row["load_age_s"], row["warn_after"], row["error_after"])
    if load == status:
        limit = row["error_after"] if status == "error" else row["warn_after"]
        return (
            f"was last loaded {age_in_words(row['load_age_s'])} "
            f"({moment_in_words(row['loaded_at'])}), past its {level} limit of "
            f"{limit_in_words(parse_duration(limit))}"
        )
    if row["newest_record_at"] is None:
        return "holds no records"
    limit = row["record_error_after"] if status == "error" else row["record_warn_after"]
    return (
        f"holds nothing newer than {age_in_words(row['record_age_s'])} "
        f"({moment_in_words(row['newest_record_at'])}), past its {level} limit of "
        f"{limit_in_words(parse_duration(limit))} for new records"
    )


def _names(names: list[str]) -> str:
    if len(names) > NAMES_IN_A_SENTENCE:
        shown = ", ".join(names[:NAMES_IN_A_SENTENCE])
        return f"{shown} and {len(names) - NAMES_IN_A_SENTENCE} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _is(count: int, word: str = "") -> str:
    """`model is` / `models are` (or just is / are)."""
    if not word:
        return "is" if count == 1 else "are"
    return f"{word} is" if count == 1 else f"{word}s are"


def _its(count: int) -> str:
    return "its" if count == 1 else "their"


def _latest(pairs: Iterable[tuple[datetime | None, T]]) -> tuple[datetime, T] | None:
    """The pair with the latest moment, skipping those without one."""
    best: tuple[datetime, T] | None = None
    for moment, item in pairs:
        if moment is not None and (best is None or moment > best[0]):
            best = (moment, item)
    return best


def _source_verdict(status: str, sources: list[SourceFreshness]) -> str:
    hit = [s for s in sources if s.status == status]
    level = "error" if status == "error" else "warning"
    # the oldest first: never loaded, then the longest since its load
    hit.sort(key=lambda s: -(s.load_age_s if s.load_age_s is not None else float("inf")))
    worst = hit[0]
    if len(hit) == 1:
        return f"{worst.name} {worst.cause}."
    every = len(hit) == len(sources)
    if every and len({s.cause for s in hit}) == 1 and worst.loaded_at is not None:
        return "every source " + worst.cause.replace("past its", "past the") + "."
    subject = "every source is" if every else f"{_names([s.name for s in hit])} are"
    return (
        f"{subject} past {_its(1 if every else 2)} {level} limit; "
        f"the oldest, {worst.name}, {worst.cause}."
    )


def _verdict(sources: list[SourceFreshness], builds: list[BuildFreshness]) -> Verdict:
    worst = max((s.status for s in sources), key=STATUS_RANK.__getitem__, default="pass")
    if worst in ("error", "warn"):
        return Verdict(worst, HEADLINES[worst], _source_verdict(worst, sources))
    behind = [b.name for b in builds if b.status == "warn"]
    if behind:
        sentence = (
            f"the sources are within their limits, but {_plural(len(behind), 'model')} "
            f"{_is(len(behind))} older than {_its(len(behind))} inputs or never built "
            f"({_names(behind)}); greenery build brings them up to date."
        )
        return Verdict("warn", HEADLINES["warn"], sentence)
    overdue = [b for b in builds if b.overdue]
    if overdue:
        first = overdue[0]
        ran = (
            "never ran" if first.ran_age_s is None else f"last ran {age_in_words(first.ran_age_s)}"
        )
        allows = (
            "" if first.allowed_s is None else f", which allows {limit_in_words(first.allowed_s)}"
        )
        subject = (
            first.name
            if len(overdue) == 1
            else f"{_plural(len(overdue), 'node')} ({_names([b.name for b in overdue])})"
        )
        example = "it" if len(overdue) == 1 else f"{first.name}, for one,"
        sentence = (
            f"the sources are within their limits and the models up to date with them, but "
            f"{subject} missed {_its(len(overdue))} schedule: {example} {ran} and is in "
            f"{first.cell}{allows}."
        )
        return Verdict("warn", "Behind schedule", sentence)
    last = _latest((s.loaded_at, s) for s in sources)
    if last is None:
        return Verdict("pass", HEADLINES["pass"], "the project declares no source tables.")
    sentence = (
        f"every source was loaded within its limits, last {age_in_words(last[1].load_age_s)} "
        f"({moment_in_words(last[0])})"
    )
    newest = _latest((s.newest_record_at, s) for s in sources)
    if newest is not None:
        sentence += (
            f"; the newest record is from {moment_in_words(newest[0])} "
            f"({age_in_words(newest[1].record_age_s)})"
        )
    return Verdict("pass", HEADLINES["pass"], sentence + ".")


def summarise(
    checks: pl.DataFrame,
    checked_at: datetime,
    schedule: pl.DataFrame | None = None,
    schedule_problem: str | None = None,
) -> FreshnessSummary:
    """The freshness checks (and the matrix's node ages) as the page shows them."""
    rows = checks.to_dicts()
    nodes = schedule.to_dicts() if schedule is not None else []
    cells = {(node["node_type"], node["node"]): node for node in nodes}
    sources = [
        SourceFreshness(
            name=row["name"],
            status=row["status"],
            loaded_at=row["loaded_at"],
            load_age_s=row["load_age_s"],
            newest_record_at=row["newest_record_at"],
            record_age_s=row["record_age_s"],
            limits=_limits(row["warn_after"], row["error_after"]),
            record_limits=_limits(row["record_warn_after"], row["record_error_after"]),
            cause=_cause(row),
            note=row["note"] or "",
        )
        for row in rows
        if row["kind"] == "source"
    ]
    builds = []
    for row in rows:
        if row["kind"] == "source":
            continue
        node = cells.get((row["kind"], row["name"].split(".", 1)[-1]))
        builds.append(
            BuildFreshness(
                kind=row["kind"],
                name=row["name"],
                status=row["status"],
                built_at=row["loaded_at"],
                age_s=row["load_age_s"],
                duration_s=row["duration_s"],
                inputs="up to date"
                if row["kind"] == "model" and row["status"] == "pass"
                else row["note"] or "",
                cell=node["cell"] if node else None,
                schedule_status=node["status"] if node else None,
                allowed_s=node["allowed_hours"] * 3600 if node else None,
                ran_age_s=node["age_hours"] * 3600
                if node and node["age_hours"] is not None
                else None,
            )
        )
    newest = [s.newest_record_at for s in sources if s.newest_record_at is not None]
    return FreshnessSummary(
        checked_at=checked_at,
        sources=sources,
        builds=builds,
        verdict=_verdict(sources, builds),
        data_as_of=max(newest) if newest else None,
        schedule_problem=schedule_problem,
    )
