"""The wheel carries the SQL and the seeds, and works installed away from the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("greenery-*.whl")
    return built


def test_the_package_under_test_is_the_checkouts() -> None:
    import greenery_cli

    assert Path(greenery_cli.__file__).resolve().parent == REPO / "greenery_cli"
    child = subprocess.run(
        [sys.executable, "-c", "import greenery_cli; print(greenery_cli.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(child.stdout.strip()).resolve().parent == REPO / "greenery_cli"


def test_wheel_holds_the_engine_sql_the_shop_project_and_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for sql in (REPO / "greenery_cli" / "queries").rglob("*.sql"):
        assert sql.relative_to(REPO).as_posix() in names
    for part in ("queries", "seeds"):
        for path in (REPO / part).rglob("*"):
            if path.is_file():
                assert f"greenery_cli/_project/{path.relative_to(REPO).as_posix()}" in names
    assert "greenery_cli/_project/greenery.toml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "greenery = greenery_cli.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_loads_from_another_directory(
    wheel: Path, tmp_path: Path, real_data: Path
) -> None:
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": str(tmp_path)}
    where = subprocess.run(
        [sys.executable, "-c", "import greenery_cli.resources as r; print(r.queries_dir())"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(site))
    load = subprocess.run(
        [
            sys.executable,
            "-m",
            "greenery_cli",
            "--db",
            "w.duckdb",
            "load",
            "--source",
            str(real_data / "raw"),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert load.returncode == 0, load.stderr
    assert "built" in load.stderr


def test_a_newcomer_owns_a_project_with_an_installed_wheel(
    wheel: Path, tmp_path: Path, real_data: Path
) -> None:
    """Not editable: pip install the wheel, init a project, change a seed, add a source and a
    model, and see both in `greenery funnel` and `greenery models`."""
    import json
    import shutil

    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": str(tmp_path)}

    def greenery(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "greenery_cli", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )

    assert greenery("init", "shop", cwd=tmp_path).returncode == 0
    shop = tmp_path / "shop"
    (shop / "seeds" / "funnel_steps.csv").write_text(
        "step,event_type,label\n1,page_view,Viewed\n2,checkout,Checked out\n"
    )
    sources = shop / "queries" / "sources.toml"
    sources.write_text(
        sources.read_text()
        + '\n[reviews]\nprimary_key = ["review_id"]\n[reviews.columns]\n'
        + 'review_id = "VARCHAR"\nstars = "INTEGER"\n'
    )
    (shop / "queries" / "staging" / "stg_reviews.sql").write_text(
        "-- Reviews.\nselect review_id, stars from {{ source('reviews') }}\n"
    )
    matrix = shop / "seeds" / "schedule.csv"
    matrix.write_text(
        matrix.read_text().rstrip("\n")
        + "\nreviews,source,Core,hourly\nstg_reviews,model,Core,daily\n"
    )
    exports = tmp_path / "exports"
    shutil.copytree(real_data / "raw", exports)
    (exports / "reviews.csv").write_text("review_id,stars\nr1,5\nr2,4\n")
    loaded = greenery("load", "--source", str(exports), cwd=shop)
    assert loaded.returncode == 0, loaded.stderr
    assert "using project greenery_shop" in loaded.stderr
    funnel = json.loads(greenery("funnel", "--by-step", "--format", "json", cwd=shop).stdout)
    assert [(r["event_type"], r["count"]) for r in funnel] == [
        ("page_view", 578),
        ("checkout", 361),
    ]
    models = json.loads(greenery("models", "--format", "json", cwd=shop).stdout)
    reviews = next(m for m in models if m["model"] == "stg_reviews")
    # the shop's staging models are views (greenery.toml), so it has no rows of its own
    assert (reviews["materialized"], reviews["depends_on"]) == ("view", "raw.reviews")
    assert reviews["state"] == "up to date"
