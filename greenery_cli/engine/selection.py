"""--select: which models a command works on, in dbt's selector words.

    name           that model
    tag:funnel     the models tagged funnel (greenery.toml layer tags and the model's own)
    layer:marts    the models of a layer
    source:events  the models reading raw.events directly (load also reloads that table)
    state:modified the models whose SQL, config or macros changed since their last build
                   (or that were never built)
    +sel           ... and everything upstream of them
    sel+           ... and everything downstream of them

Several selectors (repeated, or space-separated in one) are a union.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    from greenery_cli.models import Model

METHODS = ("tag", "layer", "source", "state")


def split(selectors: Iterable[str]) -> list[str]:
    """Repeated --select options and space-separated selectors inside one, as one list."""
    return [part for selector in selectors for part in selector.split()]


def needs_state(selectors: Iterable[str]) -> bool:
    return any(s.strip("+").startswith("state:") for s in split(selectors))


def _matching(
    models: dict[str, Model], selector: str, core: str, modified: set[str] | None
) -> set[str]:
    from greenery_cli.project import LAYERS

    method, colon, value = core.partition(":")
    if not colon:
        if core not in models:
            raise UsageError(f"--select {selector}: no model named {core}")
        return {core}
    if method == "tag":
        found = {n for n, m in models.items() if value in m.config.tags}
        if not found:
            tags = sorted({t for m in models.values() for t in m.config.tags})
            raise UsageError(
                f"--select {selector}: no model is tagged {value!r}"
                + (f" (tags: {', '.join(tags)})" if tags else " (no model has tags)")
            )
        return found
    if method == "layer":
        if value not in LAYERS:
            raise UsageError(f"--select {selector}: {value!r} is not a layer ({', '.join(LAYERS)})")
        return {n for n, m in models.items() if m.layer == value}
    if method == "source":
        found = {n for n, m in models.items() if value in m.sources}
        if not found:
            raise UsageError(f"--select {selector}: no model reads source {value!r}")
        return found
    if method == "state":
        if value != "modified":
            raise UsageError(f"--select {selector}: the state method knows only state:modified")
        if modified is None:
            raise UsageError(f"--select {selector}: state:modified works with load and build only")
        return set(modified)
    raise UsageError(
        f"--select {selector}: unknown method {method!r} (use a model name, "
        + ", ".join(f"{m}:" for m in METHODS)
        + ")"
    )


def select(
    models: dict[str, Model], selectors: Iterable[str], modified: set[str] | None = None
) -> set[str]:
    """The union of what each selector picks; `modified` answers state:modified."""
    from greenery_cli.models import downstream, upstream

    chosen: set[str] = set()
    for selector in split(selectors):
        core = selector.strip("+")
        if not core:
            raise UsageError(
                f"--select {selector!r}: name a model, tag:, layer:, source: or state:"
            )
        picked = _matching(models, selector, core, modified)
        chosen |= picked
        for name in picked:
            if selector.endswith("+"):
                chosen |= downstream(models, name)
            if selector.startswith("+"):
                chosen |= upstream(models, name)
    return chosen
