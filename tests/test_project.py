"""A team's own project: `greenery init`, finding the project, declared sources, macros, the
predefined test kinds, and malformed projects refused before anything is written."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import REPO, run_cli

from greenery_cli.errors import ExitCode
from greenery_cli.project.init import project_files
from greenery_cli.resources import ENGINE_QUERIES

WEEKS = REPO.parent / "shared" / "greenery-data" / "inventory-weeks"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def init(tmp_path: Path, name: str = "shop") -> Path:
    result = run_cli("init", str(tmp_path / name))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    return tmp_path / name


def digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest() if db.exists() else "absent"


def model_contents(db: Path) -> dict[str, tuple[int, int]]:
    """Every model's row count and an order-free checksum of its rows."""
    with duckdb.connect(str(db), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts') order by all"
        ).fetchall()
        return {
            f"{schema}.{name}": con.execute(
                f"select count(*), coalesce(sum(hash(t)), 0) from {schema}.{name} as t"
            ).fetchone()
            for schema, name in relations
        }


# --- init and finding the project ----------------------------------------------------------


def test_init_writes_the_shop_project_and_no_engine_sql(tmp_path: Path) -> None:
    root = init(tmp_path)
    written = {p.relative_to(root).as_posix() for p in project_files(root)}
    assert written == {p.relative_to(REPO).as_posix() for p in project_files(REPO)}
    assert {"greenery.toml", "queries/sources.toml", "seeds/funnel_steps.csv"} <= written
    engine = {p.relative_to(ENGINE_QUERIES).as_posix() for p in ENGINE_QUERIES.rglob("*.sql")}
    assert not {w.removeprefix("queries/") for w in written} & engine
    assert not any(w.startswith(("queries/snapshot/", "queries/reports/")) for w in written)


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    root = init(tmp_path)
    (root / "seeds" / "funnel_steps.csv").write_text("mine\n")
    again = run_cli("init", str(root))
    assert again.exit_code == ExitCode.TOOL_ERROR
    assert "overwrites nothing" in again.stderr
    assert (root / "seeds" / "funnel_steps.csv").read_text() == "mine\n"


def test_the_project_is_found_from_the_working_folder_and_named_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = init(tmp_path)
    (root / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(root / "deep" / "er")
    shown = run_cli("project", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert f'"root": "{root.resolve()}"' in shown.stdout
    assert '"found": "found from the working folder"' in shown.stdout
    assert shown.stderr.count("using project greenery_shop") == 1


def test_project_dir_option_beats_the_environment_which_beats_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, env, explicit = init(tmp_path, "here"), init(tmp_path, "env"), init(tmp_path, "explicit")
    monkeypatch.chdir(here)
    assert f'"root": "{here.resolve()}"' in run_cli("project", "--format", "json").stdout
    monkeypatch.setenv("GREENERY_PROJECT_DIR", str(env))
    assert f'"root": "{env.resolve()}"' in run_cli("project", "--format", "json").stdout
    result = run_cli("--project-dir", str(explicit), "project", "--format", "json")
    assert f'"root": "{explicit.resolve()}"' in result.stdout
    assert "(--project-dir)" in result.stderr


def test_the_built_in_project_is_used_silently_outside_any_project() -> None:
    result = run_cli("project", "--format", "json")
    assert result.exit_code == 0
    assert '"builtin": true' in result.stdout
    assert result.stderr == ""


# --- the same answers from an initialised project ------------------------------------------


def test_an_initialised_project_loads_the_real_data_to_the_same_warehouse(
    tmp_path: Path, real_data: Path, loaded_real_warehouse: Path
) -> None:
    root = init(tmp_path)
    db = tmp_path / "mine.duckdb"
    loaded = run_cli(
        "--project-dir", str(root), "--db", str(db), "load", "--source", str(real_data / "raw")
    )
    assert loaded.exit_code == 0, loaded.stderr
    assert model_contents(db) == model_contents(loaded_real_warehouse)
    ours = run_cli(
        "--project-dir", str(root), "--db", str(db), "funnel", "--by-step", "--format", "json"
    )
    theirs = run_cli("--db", str(loaded_real_warehouse), "funnel", "--by-step", "--format", "json")
    assert ours.stdout == theirs.stdout and '"count": 578' in ours.stdout


def test_a_project_without_engine_sql_snapshots_answers_reports_and_schedules(
    tmp_path: Path, real_data: Path
) -> None:
    root = init(tmp_path)
    db = tmp_path / "w.duckdb"

    def cli(*args: str) -> str:
        result = run_cli("--project-dir", str(root), "--db", str(db), *args)
        assert result.exit_code == 0, (args, result.stderr)
        return result.stdout

    cli("load", "--source", str(real_data / "raw"))
    schedule = [line.split(",") for line in (WEEKS / "schedule.csv").read_text().split()[1:]]
    exports = tmp_path / "exports"
    shutil.copytree(real_data / "raw", exports)
    for _week, moment, file in schedule:
        shutil.copy(WEEKS / file, exports / "products.csv")
        cli("snapshot", "--source", str(exports), "--at", moment)
    assert '"status": "changed"' in cli("inventory-changes", "--format", "json")
    for question in ("fluctuations", "stockouts", "funnel"):
        cli(question, "--format", "json")
    cli("report", "--html", str(tmp_path / "report.html"))
    assert "<html" in (tmp_path / "report.html").read_text()
    assert "DAG(" in cli("schedule", "--format", "airflow")


# --- a team's additions: a source, a model, a macro, a seed, every test kind ----------------

REVIEWS = {
    "queries/sources.toml_append": """
        [reviews]
        description = "Product reviews"
        primary_key = ["review_id"]
        not_null = ["product_id"]
        freshness_column = "created_at"
        warn_after = "3d"
        error_after = "7d"
        [reviews.columns]
        review_id = "VARCHAR"
        product_id = "VARCHAR"
        stars = "INTEGER"
        created_at = "TIMESTAMPTZ"
    """,
    "queries/macros/stars.sql": """
        {% macro stars_band(column) -%}
        case when {{ column }} >= 4 then 'good' when {{ column }} >= 3 then 'fair' else 'poor' end
        {%- endmacro %}
    """,
    "queries/staging/stg_reviews.sql": """
        -- One row per product review, with its band from the review_bands seed's vocabulary.
        select review_id, product_id, stars, {{ stars_band('stars') }} as band,
            created_at as created_at_utc
        from {{ source('reviews') }}
    """,
    "queries/marts/fct_product_reviews.sql": """
        -- Reviews per product, with the band's label.
        select r.product_id, r.review_id, r.stars, r.band, b.label
        from {{ ref('stg_reviews') }} as r
        join {{ seed('review_bands') }} as b using (band)
    """,
    "seeds/review_bands.csv": "band,label\ngood,Loved it\nfair,It's fine\npoor,Not again\n",
    "seeds/seeds.toml_append": """
        [review_bands]
        description = "What each review band means"
        columns = { band = "VARCHAR", label = "VARCHAR" }
        primary_key = ["band"]
    """,
    "queries/staging/schema.toml_append": """
        [stg_reviews.columns]
        review_id = ["unique", "not_null"]

        [[stg_reviews.tests]]
        test = "accepted_range"
        column = "stars"
        min_value = 1
        max_value = 5

        [[stg_reviews.tests]]
        test = "expression_is_true"
        expression = "band in ('good', 'fair', 'poor')"
        name = "reviews_have_a_band"

        [[stg_reviews.tests]]
        test = "unique_combination_of_columns"
        columns = ["product_id", "created_at_utc"]

        [[stg_reviews.tests]]
        test = "not_empty"

        [[stg_reviews.tests]]
        test = "recency"
        column = "created_at_utc"
        within = "30d"

        [[stg_reviews.tests]]
        test = "equal_rowcount"
        to = "fct_product_reviews"
        severity = "warn"
        reason = "a review of a band missing from the seed drops out of the mart"
    """,
}


def add_reviews(root: Path, exports: Path, rows: list[str]) -> None:
    for name, text in REVIEWS.items():
        if name.endswith("_append"):
            path = root / name.removesuffix("_append")
            path.write_text(path.read_text() + "\n" + textwrap.dedent(text))
        else:
            write(root, {name: text})
    matrix = root / "seeds" / "schedule.csv"
    matrix.write_text(
        matrix.read_text().rstrip("\n")
        + "\nreviews,source,Core,hourly\nstg_reviews,model,Product,weekly"
        + "\nfct_product_reviews,model,Product,weekly\n"
    )
    (exports / "reviews.csv").write_text(
        "review_id,product_id,stars,created_at\n" + "\n".join(rows) + "\n"
    )


def days_ago(days: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return moment.isoformat().replace("+00:00", "Z")


# recent reviews (the recency test allows 30 days)
CLEAN_REVIEWS = [f"r1,p1,5,{days_ago(3)}", f"r2,p1,3,{days_ago(2)}", f"r3,p2,1,{days_ago(1)}"]


def test_a_new_source_model_macro_and_seed_load_build_and_test(
    tmp_path: Path, raw_copy: Path
) -> None:
    root = init(tmp_path)
    add_reviews(root, raw_copy, CLEAN_REVIEWS)
    db = tmp_path / "w.duckdb"
    base = ("--project-dir", str(root), "--db", str(db))
    loaded = run_cli(*base, "load", "--source", str(raw_copy))
    assert loaded.exit_code == 0, loaded.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        got = con.execute(
            "select review_id, band, label from marts.fct_product_reviews order by review_id"
        ).fetchall()
    assert got == [
        ("r1", "good", "Loved it"),
        ("r2", "fair", "It's fine"),
        ("r3", "poor", "Not again"),
    ]
    models = run_cli(*base, "models", "--format", "json")
    assert '"model": "fct_product_reviews"' in models.stdout
    assert "raw.reviews" in models.stdout and "seeds.review_bands" in models.stdout
    tested = run_cli(*base, "test", "--select", "stg_reviews", "--format", "json")
    assert tested.exit_code == 0, tested.stdout
    kinds = {
        "accepted_range",
        "expression_is_true",
        "unique_combination_of_columns",
        "not_empty",
        "recency",
        "equal_rowcount",
    }
    for kind in kinds:
        assert f'"kind": "{kind}"' in tested.stdout
    assert '"status": "fail"' not in tested.stdout


@pytest.mark.parametrize(
    ("rows", "failing"),
    [
        ([f"r1,p1,9,{days_ago(1)}"], {"accepted_range_stg_reviews_stars"}),
        (
            [f"r1,p1,5,{days_ago(1)}", f"r2,p1,4,{days_ago(1)}"],
            {"unique_combination_of_columns_stg_reviews_product_id_created_at_utc"},
        ),
        ([f"r1,p1,5,{days_ago(31)}"], {"recency_stg_reviews_created_at_utc"}),
        ([], {"not_empty_stg_reviews", "recency_stg_reviews_created_at_utc"}),
    ],
)
def test_each_new_test_kind_catches_its_violation(
    tmp_path: Path, raw_copy: Path, rows: list[str], failing: set[str]
) -> None:
    root = init(tmp_path)
    add_reviews(root, raw_copy, rows)
    db = tmp_path / "w.duckdb"
    base = ("--project-dir", str(root), "--db", str(db))
    assert run_cli(*base, "load", "--source", str(raw_copy)).exit_code == 0
    tested = run_cli(*base, "test", "--select", "stg_reviews", "--format", "json")
    results = {r["test"]: r for r in json.loads(tested.stdout)}
    assert {name for name, r in results.items() if r["status"] == "fail"} == failing
    assert tested.exit_code == ExitCode.WORK_FAILED


def frozen(con: duckdb.DuckDBPyConnection, relation: str, select: str) -> None:
    """Replace a model (a view, as the shop's models are) with a table of `select`, to edit."""
    con.execute(f"create table {relation}_frozen as {select}")
    con.execute(f"drop view {relation}")
    con.execute(f"alter table {relation}_frozen rename to {relation.split('.')[1]}")


def test_expression_and_rowcount_tests_catch_hand_made_violations(
    tmp_path: Path, raw_copy: Path
) -> None:
    root = init(tmp_path)
    add_reviews(root, raw_copy, CLEAN_REVIEWS)
    db = tmp_path / "w.duckdb"
    base = ("--project-dir", str(root), "--db", str(db))
    assert run_cli(*base, "load", "--source", str(raw_copy)).exit_code == 0
    with duckdb.connect(str(db)) as con:
        frozen(con, "marts.fct_product_reviews", "select * from marts.fct_product_reviews")
        frozen(con, "staging.stg_reviews", "select * from staging.stg_reviews")
        con.execute("update staging.stg_reviews set band = 'sublime' where review_id = 'r1'")
    tested = run_cli(*base, "test", "--select", "stg_reviews", "--format", "json")
    results = {r["test"]: r for r in json.loads(tested.stdout)}
    assert results["reviews_have_a_band"]["status"] == "fail"
    assert results["reviews_have_a_band"]["failures"] == 1
    assert results["equal_rowcount_stg_reviews__fct_product_reviews"]["status"] == "pass"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "delete from marts.fct_product_reviews where review_id not in "
            "(select review_id from marts.fct_product_reviews order by all limit 2)"
        )
    results = {
        r["test"]: r
        for r in json.loads(
            run_cli(*base, "test", "--select", "stg_reviews", "--format", "json").stdout
        )
    }
    assert results["equal_rowcount_stg_reviews__fct_product_reviews"]["status"] == "warn"


# --- malformed projects: one line naming file and line, exit 2, nothing written ------------


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        ("greenery.toml", lambda t: t + "\n[broken\n", r"greenery.toml line \d+: not valid TOML"),
        ("greenery.toml", lambda t: t.replace("format = 1", "format = 9"), "newer greenery"),
        (
            "greenery.toml",
            lambda t: t + '\n[notifications]\nemail = "team@shop"\n',
            r"greenery.toml line \d+: greenery.toml: unknown key\(s\) notifications",
        ),
        (
            "queries/sources.toml",
            lambda t: t.replace('discount = "INTEGER"', 'discount = "NUMBERISH"'),
            r"sources.toml line \d+: \[promos.columns\] discount = 'NUMBERISH' is not a known type",
        ),
        (
            "queries/sources.toml",
            lambda t: t.replace('primary_key = ["promo_id"]', 'primary_key = ["promo_code"]'),
            r"sources.toml line \d+: \[promos\] primary_key names undeclared column\(s\) "
            "promo_code",
        ),
        (
            "queries/staging/stg_promos.sql",
            lambda t: t.replace("source('promos')", "source('coupons')"),
            r"queries/staging/stg_promos.sql: source\('coupons'\) names no source declared",
        ),
        (
            "queries/staging/schema.toml",
            lambda t: (
                t
                + '\n[[stg_promos.tests]]\ntest = "accepted_range"\n'
                + 'column = "discount_usd"\nmax = 3\n'
            ),
            r"schema.toml line \d+, stg_promos test \d+: unknown key\(s\) max",
        ),
    ],
)
def test_a_malformed_project_is_refused_before_anything_is_written(
    tmp_path: Path, real_data: Path, file: str, change, message: str
) -> None:
    root = init(tmp_path)
    db = tmp_path / "w.duckdb"
    first = run_cli(
        "--project-dir", str(root), "--db", str(db), "load", "--source", str(real_data / "raw")
    )
    assert first.exit_code == 0
    before = digest(db)
    path = root / file
    path.write_text(change(path.read_text()))
    for args in (("load", "--source", str(real_data / "raw")), ("test",), ("build",)):
        result = run_cli("--project-dir", str(root), "--db", str(db), *args)
        assert result.exit_code == ExitCode.TOOL_ERROR, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2, result.stderr
        assert "Traceback" not in result.stderr
        assert re.search(message, result.stderr), result.stderr
    assert digest(db) == before


def test_a_malformed_project_writes_no_new_warehouse(tmp_path: Path, real_data: Path) -> None:
    root = init(tmp_path)
    (root / "greenery.toml").write_text("[project\n")
    db = tmp_path / "new.duckdb"
    result = run_cli(
        "--project-dir", str(root), "--db", str(db), "load", "--source", str(real_data / "raw")
    )
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert not db.exists()


def test_a_macro_error_names_the_macro_file(tmp_path: Path) -> None:
    root = init(tmp_path)
    write(root, {"queries/macros/broken.sql": "{% macro oops() %}{{ 1 + }}{% endmacro %}\n"})
    result = run_cli("--project-dir", str(root), "models")
    assert result.exit_code == ExitCode.TOOL_ERROR
    assert "queries/macros/broken.sql line 1" in result.stderr


def test_the_project_shows_its_shrink_and_deletion_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = init(tmp_path)
    sources = root / "queries" / "sources.toml"
    sources.write_text(sources.read_text().replace("[orders]\n", "[orders]\nmax_shrink = 0.1\n", 1))
    config = root / "greenery.toml"
    config.write_text(config.read_text().replace("[snapshot]", "[snapshot]\nmax_deleted = 0.2", 1))
    monkeypatch.chdir(root)
    shown = json.loads(run_cli("project", "--format", "json").stdout)
    limits = {s["name"]: s["max_shrink"] for s in shown["sources"]}
    assert limits["orders"] == 0.1 and limits["events"] == 0.5  # declared, and the default
    assert shown["snapshot"]["max_deleted"] == 0.2
    table = run_cli("project")
    assert table.exit_code == 0, table.stderr
    assert "refuses to mark more than 20% of them deleted (max_deleted)" in " ".join(
        table.stdout.split()
    )
    orders = next(line for line in table.stdout.splitlines() if "│ orders " in line)
    assert "10%" in orders


@pytest.mark.parametrize(
    ("line", "message", "where"),
    [
        ('missing = "drop"', "missing = 'drop': expected one of", True),
        ('check_columns = ["colour"]', "check_columns names undeclared column(s) colour", True),
        ('unique_key = "nope"', "unique_key 'nope' is not a column of products", True),
        (
            'source = "orders"\nunique_key = "order_id"\ncheck_columns = ["status"]',
            "greenery keeps the history of products by product_id only",
            False,
        ),
        ('unique_key = "name"', "greenery keeps the history of products by product_id only", False),
    ],
)
def test_a_snapshot_config_greenery_cannot_follow_is_refused(
    tmp_path: Path, real_data: Path, line: str, message: str, where: bool
) -> None:
    """A malformed [snapshot] is refused on reading, by line; a table or key the snapshot engine
    does not handle only when a snapshot is asked for (the rest of the project still works)."""
    root = init(tmp_path)
    toml = root / "greenery.toml"
    lines = toml.read_text().splitlines()
    for setting in line.split("\n"):
        key = setting.split(" = ")[0]
        at = next(i for i, text in enumerate(lines) if text.startswith(f"{key} = "))
        lines[at] = setting
    toml.write_text("\n".join(lines) + "\n")
    base = ("--project-dir", str(root), "--db", str(tmp_path / "w.duckdb"))
    described = run_cli(*base, "project")
    if where:
        assert described.exit_code == ExitCode.TOOL_ERROR
        assert message in described.stderr and f"greenery.toml line {at + 1}:" in described.stderr
        return
    assert described.exit_code == 0, described.stderr
    for snapshot in (("snapshot", "--source", str(real_data / "raw")),
                     ("snapshot", "--replay", str(WEEKS))):  # fmt: skip
        result = run_cli(*base, *snapshot)
        assert result.exit_code == ExitCode.TOOL_ERROR
        assert message in result.stderr and str(toml) in result.stderr, result.stderr
    assert not (tmp_path / "w.duckdb").exists()
