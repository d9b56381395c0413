"""bench/spark.py's argument parsing and answer reading (no JVM, no timing assertions)."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
_spec = importlib.util.spec_from_file_location("bench_spark", REPO / "bench" / "spark.py")
assert _spec is not None and _spec.loader is not None
bench_spark = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_spark)


def test_scales_and_repeat_are_parsed() -> None:
    args = bench_spark.parse_args(["--scales", "1,1_000", "--timeout", "60"])
    assert args.scales == [1, 1000]
    assert args.repeat is None  # bench_scale picks 3 at scale 1, 1 above
    assert args.timeout == 60.0


@pytest.mark.parametrize(
    "argv", [["--scales", "one"], ["--scales", "0"], ["--scales", ","], ["--repeat", "0"]]
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        bench_spark.parse_args(argv)
    assert stopped.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_both_engines_load_summaries_give_the_same_key_figures() -> None:
    duckdb = (
        "7 of 7 raw tables changed (+5,092 rows), 3 seed(s) reloaded; models: 17 built; "
        "from /data/raw (run 1)"
    )
    spark = (
        "loaded 7 raw tables (5092 rows) and 3 seeds, built 17 models on sc://127.0.0.1:1 "
        "from /data/raw (run 1)"
    )
    known = {"tables": 7, "rows": 5092, "seeds": 3, "models": 17}
    assert bench_spark.load_figures(f"progress\n{duckdb}\n") == known
    assert bench_spark.load_figures(spark) == known
    assert (
        bench_spark.load_figures("loaded 7 raw tables (5093 rows) and 3 seeds, built 17 models")
        != known
    )
    assert bench_spark.load_figures("nothing") is None


def test_answers_compare_floats_to_nine_places() -> None:
    assert bench_spark.rounded({"a": [0.1 + 0.2, 1]}) == {"a": [0.3, 1]}
    assert bench_spark.rounded(0.3000001) != 0.3
