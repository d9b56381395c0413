"""The benchmark harness works (no timing assertions): a smoke run of bench/run.py at scale 1 with
greenery and the hand-written job, the known right answers on the real data, the launcher's
figures, the answer check that fails a run, the interleaving order and the results file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_DATA, REPO, run_cli

sys.path.insert(0, str(REPO / "bench"))

from contenders import dbt as dbt_contender  # noqa: E402
from measure import (  # noqa: E402
    AnswerMismatch,
    CommandFailed,
    Plan,
    Step,
    interleave,
    run_step,
)
from results import Figures, Results, Row  # noqa: E402

PYTHON = sys.executable


def bench(
    tmp_path: Path, *args: str, timeout: int = 240
) -> tuple[dict[tuple[str, str], dict], str]:
    results, out = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    done = subprocess.run(
        [PYTHON, str(REPO / "bench" / "run.py"), *args, "--work", str(tmp_path / "work"),
         "--results", str(results), "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = {(r["dataset"], r["item"]): r for r in json.loads(results.read_text())["rows"]}
    return rows, out.read_text()


def test_benchmark_smoke_at_scale_1(tmp_path: Path) -> None:
    items = "load,files-to-funnel,snapshot"
    rows, page = bench(tmp_path, "--scales", "1", "--repeat", "2", "--dbt", "no",
                       "--items", items)  # fmt: skip
    for item in items.split(","):
        row = rows[("scale 1", item)]
        assert set(row["contenders"]) == {"greenery", "hand-written"}, row
        for figures in row["contenders"].values():
            assert len(figures["wall"]) == len(figures["cpu"]) == len(figures["rss_mb"]) == 2
            assert min(figures["wall"]) > 0 and min(figures["rss_mb"]) > 0
        assert row["answer"]
    assert "#### scale 1" in page and "| new files -> funnel --by-step |" in page
    assert "python bench/run.py --scales 1 --repeat 2 --dbt no" in page
    assert "- cores: " in page and "- memory_gib: " in page


@pytest.mark.skipif(not (REAL_DATA / "raw" / "events.csv").is_file(), reason="no real dataset")
def test_benchmark_answers_are_the_known_answers_on_the_real_data(tmp_path: Path) -> None:
    rows, _ = bench(tmp_path, "--data", str(REAL_DATA), "--repeat", "1", "--dbt", "no",
                    "--items", "funnel-by-step,inventory-changes,stockouts")  # fmt: skip
    assert json.loads(rows[("real", "funnel-by-step")]["answer"]) == [578, 467, 361]
    assert len(json.loads(rows[("real", "inventory-changes")]["answer"])) == 6
    assert len(json.loads(rows[("real", "stockouts")]["answer"])) == 2


@pytest.mark.slow
@pytest.mark.skipif(
    not dbt_contender.venv_ready(dbt_contender.DEFAULT_VENV),
    reason="dbt's environment is not installed (python bench/run.py --dbt install makes it)",
)
@pytest.mark.skipif(not (REAL_DATA / "raw" / "events.csv").is_file(), reason="no real dataset")
def test_benchmark_runs_dbt_when_its_environment_exists(tmp_path: Path) -> None:
    rows, page = bench(tmp_path, "--data", str(REAL_DATA), "--repeat", "1", "--dbt",
                       "if-present", "--items", "files-to-funnel", timeout=900)  # fmt: skip
    row = rows[("real", "files-to-funnel")]
    assert set(row["contenders"]) == {"greenery", "hand-written", "dbt"}
    assert json.loads(row["answer"]) == [578, 467, 361]
    assert "dbt run --select +fct_product_funnel" in page


# --- the harness's parts ---------------------------------------------------------------------


def python_step(code: str) -> Step:
    return Step((PYTHON, "-c", code))


def printing(text: str, setup: object = None) -> Plan:
    step = python_step(f"print({text!r})")
    return Plan((step,), lambda out: out.strip(), "print", setup)  # type: ignore[arg-type]


def test_launcher_measures_the_child_not_the_benchmark(tmp_path: Path) -> None:
    import duckdb  # noqa: F401 - makes this process far larger than a small child

    small, _ = run_step(Step(("true",)), tmp_path)
    assert small.rss_mb < 40, small
    touch_300_mb = "b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); print('ok')"
    big, out = run_step(python_step(touch_300_mb), tmp_path)
    assert big.rss_mb >= 300 and out.strip() == "ok", big
    assert big.cpu > 0 and big.wall > 0


def test_a_failing_command_stops_the_benchmark(tmp_path: Path) -> None:
    with pytest.raises(CommandFailed, match="exited 3:\n.*broken input"):
        run_step(python_step("import sys; sys.stderr.write('broken input'); sys.exit(3)"), tmp_path)


def test_an_answer_unlike_greenerys_fails_the_run() -> None:
    plans = {"greenery": printing("578"), "hand-written": printing("577")}
    with pytest.raises(AnswerMismatch, match="hand-written answered differently from greenery"):
        interleave("real, funnel", plans, repeat=1)


def test_greenery_is_checked_against_an_answer_worked_out_from_the_data() -> None:
    plans = {"greenery": printing("5"), "hand-written": printing("5")}
    assert interleave("x", plans, repeat=1, expected="5").answer == "5"
    with pytest.raises(AnswerMismatch, match="greenery answered differently from the expected"):
        interleave("x", plans, repeat=1, expected="6")


def test_contenders_interleave_in_an_order_rotating_per_repeat() -> None:
    order: list[str] = []
    plans = {
        name: printing("same", setup=lambda name=name: order.append(name))
        for name in ("hand-written", "greenery", "dbt")
    }
    outcome = interleave("x", plans, repeat=3, warmup=1)
    assert order == [
        "greenery", "hand-written", "dbt",  # warm-up, unmeasured; greenery answers first
        "hand-written", "dbt", "greenery",
        "dbt", "greenery", "hand-written",
        "greenery", "hand-written", "dbt",
    ]  # fmt: skip
    assert {name: len(s) for name, s in outcome.samples.items()} == dict.fromkeys(plans, 3)


def test_results_replace_the_rows_measured_again_and_render(tmp_path: Path) -> None:
    def row(dataset: str, item: str, wall: float) -> Row:
        figures = Figures("greenery x", [wall, wall * 2, wall * 3], [wall] * 3, [100.0] * 3)
        hand = Figures("python job.py", [wall / 2] * 3, [wall / 2] * 3, [50.0] * 3)
        return Row(dataset, item, item, -1, {"greenery": figures, "hand-written": hand}, "[1]")

    machine = {"cores": 2, "memory_gib": 23.5, "cpu": "x", "greenery commit": "abc"}
    run = {"command": "python bench/run.py A", "started": "now", "duration_s": 1.0,
           "load_average": "1, 1, 1", "machine": machine}  # fmt: skip
    path = tmp_path / "results.json"
    results = Results.read(path)
    results.merge([row("real", "load", 1.0), row("real", "stockouts", 1.0)], run)
    results.write(path)
    results = Results.read(path)
    results.merge([row("real", "stockouts", 4.0)], {**run, "command": "python bench/run.py B"})
    results.write(path)
    again = Results.read(path)
    assert [(r.item, r.run, r.contenders["greenery"].median) for r in again.rows] == [
        ("load", 0, 2.0),
        ("stockouts", 1, 8.0),
    ]
    page = tmp_path / "BENCHMARKS.md"
    page.write_text(
        "# Benchmarks\n\nprose\n\n<!-- results:start -->stale figures<!-- results:end -->\n\nend\n"
    )
    done = subprocess.run(
        [PYTHON, str(REPO / "bench" / "run.py"), "--render", "--results", str(path), "--out",
         str(page)], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nprose\n\n") and text.endswith("\nend\n")
    assert "stale figures" not in text and "| stockouts | 8.00 s [4.00 s - 12.00 s]" in text
    assert "| 4.00x (CPU 2.00x) |" in text
    assert "1. `python bench/run.py A`" in text and "2. `python bench/run.py B`" in text


def test_handwritten_questions_answer_like_greenery_on_the_sample(tmp_path: Path) -> None:
    """On generated data, whose snapshot history covers the sessions: greenery's defaults
    (attempts, stock at entry, last differing run, movers only) against bench/handwritten/."""
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
            sql = (REPO / "bench" / "handwritten" / f"{name}.sql").read_text()
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
        assert got == {r[0]: r[2:] for r in hand("funnel_by_product")}
        assert sum(v[3] for v in got.values()) > 0  # some views while out of stock
        steps = [r["count"] for r in greenery("funnel", "--by-step")]
        assert steps == [c for _, c in hand("funnel_by_step")]
        changes = {r["product_id"]: r["change"] for r in greenery("inventory-changes")}
        assert changes == {r[0]: r[4] for r in hand("inventory_changes")}
        spread = {
            r["product_id"]: (r["changes"], r["total_change"]) for r in greenery("fluctuations")
        }
        assert spread == {r[1]: (r[3], r[4]) for r in hand("fluctuations")}


def test_every_contender_answers_within_the_same_memory_limit(tmp_path: Path) -> None:
    """--memory-limit reaches DuckDB in both processes (each reports the same setting), and
    dbt's copy of the peer's profile gets it among its settings; without one, neither
    contender sets any and the peer's profile is left as it is."""
    from contenders.greenery import Greenery
    from contenders.handwritten import HandWritten

    db = tmp_path / "w.duckdb"
    assert run_cli("--db", str(db), "load", "--source", str(REAL_DATA / "raw")).exit_code == 0
    ask = "select current_setting('memory_limit') as limit"

    def settings(limit: str | None) -> tuple[str, str]:
        greenery = Greenery(tmp_path, memory_limit=limit)
        hand = HandWritten(tmp_path / "contract.json", tmp_path, memory_limit=limit)
        out = [
            subprocess.run(s.argv, env=s.env, capture_output=True, text=True, check=True).stdout
            for s in (greenery.step(db, "query", ask, "--format", "json"), hand.sql(db, ask))
        ]
        return json.loads(out[0])[0]["limit"], json.loads(out[1])[0][0]

    one_gb, two_gb = settings("1GB"), settings("2GB")
    assert one_gb[0] == one_gb[1] and two_gb[0] == two_gb[1] and one_gb != two_gb
    unset = settings(None)
    assert unset[0] != unset[1]  # greenery's own 3 GB cap against DuckDB's 80% of RAM

    profile = (dbt_contender.PEER_PROJECT / "profiles.yml").read_text()
    assert dbt_contender.with_memory_limit(profile, None) == profile
    capped = dbt_contender.with_memory_limit(profile, "1GB").splitlines()
    at = next(i for i, line in enumerate(capped) if line.strip() == "settings:")
    assert capped[at + 1].strip() == 'memory_limit: "1GB"'
    assert len(capped) == len(profile.splitlines()) + 1
