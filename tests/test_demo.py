"""`greenery demo`: sample data to a ready warehouse and the week-4 report, safely rerunnable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from conftest import run_cli

pytest.importorskip("greenery_cli.snapshot", reason="the snapshot engine is not merged yet")

import greenery_cli.demo as demo_module  # noqa: E402
from greenery_cli.demo import DemoSettings, demo, sample_dir  # noqa: E402


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One sample cache for the module's tests, so each demo reuses the generated data."""
    folder = _shared_cache(tmp_path_factory)
    monkeypatch.setenv("GREENERY_CACHE_DIR", str(folder))
    return folder


_CACHE: list[Path] = []


def _shared_cache(factory: pytest.TempPathFactory) -> Path:
    if not _CACHE:
        _CACHE.append(factory.mktemp("demo-cache"))
    return _CACHE[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_builds_a_warehouse_and_prints_non_trivial_answers(cache: Path) -> None:
    result = run_cli("demo")
    assert result.exit_code == 0, result.stderr
    for number in range(1, 5):
        assert f"{number}. " in result.stdout
    assert "sample data:" in result.stderr and "sample data:" not in result.stdout
    assert Path("greenery.duckdb").is_file()
    # the same renderer as `greenery report`, on the warehouse the demo left behind
    again = run_cli("report")
    assert again.exit_code == 0 and again.stdout == result.stdout
    report = json.loads(run_cli("report", "--format", "json").stdout)
    assert report["unanswered"] == {}
    assert len(report["inventory_changes"]) >= 1
    assert len(report["stockouts"]) >= 1
    assert any(row["changes"] >= 2 for row in report["fluctuations"])
    counts = [row["count"] for row in report["funnel_by_step"]]
    assert len(counts) == 3 and len(set(counts)) == 3 and counts == sorted(counts, reverse=True)
    # the replayed history passes the snapshot invariants with the other data tests
    tested = run_cli("test")
    assert tested.exit_code == 0, tested.stdout


def test_demo_reruns_cleanly_and_leaves_no_temp_files(cache: Path, tmp_path: Path) -> None:
    first = run_cli("--db", "w/demo.duckdb", "demo", "--format", "json")
    second = run_cli("--db", "w/demo.duckdb", "demo", "--format", "json")
    assert first.exit_code == second.exit_code == 0, second.stderr
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert "reused" in second.stderr and "replaced" in second.stderr
    leftovers = sorted(p.name for p in Path("w").iterdir())
    assert leftovers == ["demo.duckdb", "demo.duckdb.lock"]


def test_demo_refuses_a_warehouse_it_did_not_make(cache: Path, real_data: Path) -> None:
    loaded = run_cli("load", "--source", str(real_data / "raw"))
    assert loaded.exit_code == 0, loaded.stderr
    before = sha(Path("greenery.duckdb"))
    refused = run_cli("demo")
    assert refused.exit_code == 2
    assert "not made by `greenery demo`" in refused.stderr and "--force" in refused.stderr
    assert refused.stdout == ""
    assert sha(Path("greenery.duckdb")) == before
    forced = run_cli("demo", "--force")
    assert forced.exit_code == 0, forced.stderr


def test_demo_refuses_once_other_data_came_in(cache: Path, tmp_path: Path) -> None:
    from greenery_cli.generate import GenerateSettings, generate

    generate(GenerateSettings(out=tmp_path / "other", seed=9))
    other = str(tmp_path / "other" / "raw")
    for command in ("load", "snapshot"):
        db = f"{command}.duckdb"
        assert run_cli("--db", db, "demo").exit_code == 0
        # a load or snapshot from the demo's own (remembered) source keeps it the demo's
        assert run_cli("--db", db, command).exit_code == 0
        # another shop's products replace every one of the demo's: a shrink, allowed here
        assert run_cli("--db", db, command, "--source", other, "--allow-shrink").exit_code == 0
        refused = run_cli("--db", db, "demo")
        assert refused.exit_code == 2
        assert f"`greenery {command}`" in refused.stderr


def test_demo_refuses_a_file_that_is_not_a_warehouse(cache: Path) -> None:
    Path("notes.duckdb").write_text("my notes")
    refused = run_cli("--db", "notes.duckdb", "demo")
    assert refused.exit_code == 2
    assert Path("notes.duckdb").read_text() == "my notes"


def test_a_failed_demo_leaves_the_old_warehouse_alone(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("demo").exit_code == 0
    before = sha(Path("greenery.duckdb"))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("greenery_cli.snapshot.take_snapshot", broken)
    with pytest.raises(RuntimeError):
        demo(DemoSettings(db="greenery.duckdb"))
    assert sha(Path("greenery.duckdb")) == before
    assert sorted(p.name for p in Path().iterdir() if "greenery.duckdb" in p.name) == [
        "greenery.duckdb",
        "greenery.duckdb.lock",
    ]


def test_the_sample_cache_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sample_dir(1, 1.0).parent == tmp_path / "xdg" / "greenery"
    monkeypatch.setenv("GREENERY_CACHE_DIR", str(tmp_path / "mine"))
    assert sample_dir(1, 1.0).parent == tmp_path / "mine"
    assert sample_dir(1, 1.0).name.endswith("seed1-scale1")
    assert demo_module.DEMO_SEED == 1


@pytest.mark.slow
def test_a_reader_holding_the_warehouse_does_not_block_the_demo(cache: Path) -> None:
    import subprocess
    import sys

    assert run_cli("demo").exit_code == 0
    before = sha(Path("greenery.duckdb"))
    hold = (
        "import sys\n"
        "from greenery_cli.warehouse import open_warehouse\n"
        "with open_warehouse('greenery.duckdb') as wh:\n"
        "    print(wh.scalar('select count(*) from snapshots.snapshot_runs'), flush=True)\n"
        "    sys.stdin.readline()\n"
        "    print(wh.scalar('select count(*) from snapshots.snapshot_runs'), flush=True)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None
        runs = int(reader.stdout.readline())
        again = run_cli("demo", "--wait", "1")
        assert again.exit_code == 0, again.stderr
        assert sha(Path("greenery.duckdb")) != before  # replaced while the reader held it
    finally:
        out, _ = reader.communicate(input="\n", timeout=60)
    assert int(out) == runs  # the reader kept the warehouse it opened, whole


def test_demo_shows_the_stock_aware_funnel(cache: Path) -> None:
    # the sample's snapshot history covers its sessions, so views of out-of-stock products count
    result = run_cli("demo")
    assert result.exit_code == 0, result.stderr
    assert "stock-aware funnel:" in result.stderr
    rows = json.loads(run_cli("funnel", "--by", "product", "--format", "json").stdout)
    out = sum(r["viewed_out_of_stock"] for r in rows)
    assert out > 0 and sum(r["viewed_stock_unknown"] for r in rows) == 0
    assert sum(r["viewed_out_of_stock"] + r["viewed_in_stock"] for r in rows) == sum(
        r["viewed"] for r in rows
    )
    assert f"{out} session-product entries were views of a product" in " ".join(
        result.stderr.split()
    )
