"""The benchmark still runs: bench/run.py at scale 1, one repeat, no timing assertions (CI smoke).

Also checks that the hand-written baselines answer the same as greenery, so the ratios compare
the same work."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_DATA, REPO, run_cli

sys.path.insert(0, str(REPO / "bench"))

import baselines  # noqa: E402
import run as bench_run  # noqa: E402

PER_DATASET = [c for c in bench_run.CASES if c not in ("generate", "greenery --help")]
SNAPSHOT_CASES = [c for c in bench_run.CASES if c.startswith("snapshot")]


def has_command(name: str) -> bool:
    return run_cli(name, "--help").exit_code == 0


def test_benchmark_runs_at_scale_1(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    out = tmp_path / "BENCHMARKS.md"
    generate, snapshot = has_command("generate"), has_command("snapshot")
    # the real data stands in for the generator's scale 1 only where the generator is missing
    if not generate and not (REAL_DATA / "raw" / "events.csv").is_file():
        pytest.skip("neither `greenery generate` nor the real dataset is available")
    data = [] if generate else ["--data", str(REAL_DATA)]
    done = subprocess.run(
        [
            sys.executable, str(REPO / "bench" / "run.py"), "--scales", "1", "--repeat", "1",
            *data, "--big-products", "2000", "--work", str(tmp_path / "work"),
            "--results", str(results), "--out", str(out),
        ],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {(r["dataset"], r["case"]): r for r in json.loads(results.read_text())["rows"]}
    expected = [("cli", "greenery --help"), ("scale 1", "generate")]
    expected += [("scale 1" if generate else "real", case) for case in PER_DATASET]
    expected += [("2000 products", case) for case in SNAPSHOT_CASES]
    for key in expected:
        assert key in rows, f"no row for {key}:\n{done.stdout}"
        row = rows[key]
        missing = (key[1] == "generate" and not generate) or (
            key[1] in SNAPSHOT_CASES and not snapshot
        )
        if missing:
            assert row["note"].startswith("skipped:"), row
            continue
        assert row["greenery"] is not None, row
        assert row["greenery"]["median"] > 0 and row["greenery"]["peak_rss_mb"] > 0
        assert row["hand"] is not None and row["hand"]["median"] > 0, row
        ratio = row["greenery"]["median"] / row["hand"]["median"]
        assert math.isfinite(ratio)
    text = out.read_text()
    assert f"| {expected[2][0]} | funnel --by-step |" in text and "nproc: " in text
    assert "python bench/run.py --scales 1 --repeat 1" in text


def test_handwritten_funnel_and_inventory_answer_like_greenery(
    tmp_path: Path, real_data: Path
) -> None:
    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(real_data / "raw")).exit_code == 0
    weeks = real_data / "inventory-weeks"
    for week, at in enumerate(
        ["2024-10-10T06:00:00", "2024-10-16T06:00:00", "2024-10-22T06:00:00"], start=1
    ):
        from datetime import UTC, datetime

        moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
        baselines.snapshot(db, weeks / f"products_week{week}.csv", moment)

    def greenery(*args: str) -> list[dict[str, object]]:
        result = run_cli("--db", str(db), *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    import duckdb

    con = duckdb.connect(str(db), read_only=True)

    def hand(name: str) -> list[tuple[object, ...]]:
        sql = baselines.sql_file(name)
        params = {"window_seconds": 86400} if "$window_seconds" in sql else None
        return con.execute(sql, params).fetchall()

    assert [r["count"] for r in greenery("funnel", "--by-step")] == [
        c for _, c in hand("funnel_by_step")
    ]
    stock = (
        "viewed_out_of_stock",
        "converted_out_of_stock",
        "viewed_in_stock",
        "converted_in_stock",
        "viewed_stock_unknown",
    )
    by_product = {
        r["product_id"]: (r["viewed"], r["added_to_cart"], r["checked_out"])
        for r in greenery("funnel", "--by", "product")
    }
    assert by_product == {r[0]: r[2:5] for r in hand("funnel_by_product")}
    # the real history (2024) does not cover the events (2021): greenery leaves the stock
    # columns empty, the hand-written query counts every view as unknown
    for row in greenery("funnel", "--by", "product"):
        assert all(row[c] is None for c in stock)
    assert all(r[5:9] == (0, 0, 0, 0) and r[9] == r[2] for r in hand("funnel_by_product"))
    changes = {r["product_id"]: r["change"] for r in greenery("inventory-changes")}
    assert changes and changes == {r[0]: r[4] for r in hand("inventory_changes")}
    spread = {r["product_id"]: (r["changes"], r["total_change"]) for r in greenery("fluctuations")}
    assert spread == {r[1]: (r[3], r[4]) for r in hand("fluctuations")}
    out = {r["product_id"]: r["lowest_inventory"] for r in greenery("stockouts")}
    assert out and out == {r[0]: r[6] for r in hand("stockouts")}
    con.close()


def test_handwritten_baselines_answer_like_greenery_on_the_sample(tmp_path: Path) -> None:
    """On generated data, whose snapshot history covers the sessions: the stock columns too."""
    import duckdb

    out, db = tmp_path / "sample", tmp_path / "w.duckdb"
    assert run_cli("generate", str(out), "--scale", "0.3").exit_code == 0
    assert run_cli("--db", str(db), "load", "--source", str(out)).exit_code == 0
    replayed = run_cli("--db", str(db), "snapshot", "--replay", str(out / "inventory-weeks"))
    assert replayed.exit_code == 0, replayed.stderr

    def greenery(*args: str) -> list[dict[str, object]]:
        result = run_cli("--db", str(db), *args, "--format", "json")
        assert result.exit_code == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    with duckdb.connect(str(db), read_only=True) as con:

        def hand(name: str) -> list[tuple[object, ...]]:
            sql = baselines.sql_file(name)
            params = {"window_seconds": 86400} if "$window_seconds" in sql else None
            return con.execute(sql, params).fetchall()

        columns = (
            "viewed", "added_to_cart", "checked_out", "viewed_out_of_stock",
            "converted_out_of_stock", "viewed_in_stock", "converted_in_stock",
            "viewed_stock_unknown",
        )  # fmt: skip
        got = {
            r["product_id"]: tuple(r[c] for c in columns)
            for r in greenery("funnel", "--by", "product")
        }
        expected = {r[0]: r[2:] for r in hand("funnel_by_product")}
        assert got == expected
        assert sum(v[3] for v in got.values()) > 0  # some views while out of stock
        steps = [r["count"] for r in greenery("funnel", "--by-step")]
        assert steps == [c for _, c in hand("funnel_by_step")]
        changes = {r["product_id"]: r["change"] for r in greenery("inventory-changes")}
        assert changes == {r[0]: r[4] for r in hand("inventory_changes")}
        spread = {
            r["product_id"]: (r["changes"], r["total_change"]) for r in greenery("fluctuations")
        }
        assert spread == {r[1]: (r[3], r[4]) for r in hand("fluctuations")}
