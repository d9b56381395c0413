"""The funnel's SQL stays within DuckDB's memory cap by spilling, not by holding its inputs whole.

At 10,000x the shop (35M events) under greenery's 3 GB cap, `funnel --by-step` ran out of memory:
DuckDB kept a CTE that the attempts joined twice whole in memory, which cannot spill. The same
failure shows at scale 30 under a 32 MB cap (measured: the old SQL failed there, and at 24 MB,
and ran at 48 MB; the one-join SQL runs at 24 MB), so this guards the shape at test size.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli


def test_funnel_by_step_answers_under_a_small_memory_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, db = tmp_path / "shop", str(tmp_path / "w.duckdb")
    assert run_cli("generate", str(data), "--scale", "30", "--seed", "0").exit_code == 0
    loaded = run_cli("--db", db, "load", "--source", str(data))
    assert loaded.exit_code == 0, loaded.stderr
    question = ("--db", db, "funnel", "--by-step", "--format", "json")
    monkeypatch.setenv("GREENERY_MEMORY_LIMIT", "none")
    uncapped = run_cli(*question)
    assert uncapped.exit_code == 0, uncapped.stderr
    monkeypatch.setenv("GREENERY_MEMORY_LIMIT", "32MB")
    capped = run_cli(*question)
    assert capped.exit_code == 0, capped.stderr
    assert capped.stdout == uncapped.stdout
