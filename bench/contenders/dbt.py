"""The dbt contender: dbt-duckdb running the peer project (../shared/peer/dbt_greenery), in its
own virtual environment with the versions the peer's README names, installed by the benchmark
once and reused (bench/.cache/dbt-venv by default, never in CI unless asked).

The project is copied to the benchmark's scratch folder (dbt writes target/ and logs/), never
into the repository. Each combination of warehouse file and data folder gets its own target
folder, parsed once before it is measured, so every measured command uses dbt's partial parse,
as a team's repeated runs would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from measure import Plan, Step, run_untimed, shown

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
PEER_PROJECT = REPO.parent / "shared" / "peer" / "dbt_greenery"
DEFAULT_VENV = BENCH / ".cache" / "dbt-venv"
VERSIONS = ("dbt-core==1.10.23", "dbt-duckdb==1.10.1", "duckdb==2.0.1")  # the peer README's
MARKER = "greenery-bench.json"
JOB = BENCH / "handwritten" / "job.py"


def venv_ready(venv: Path) -> bool:
    marker = venv / MARKER
    return (
        (venv / "bin" / "dbt").exists()
        and marker.exists()
        and (json.loads(marker.read_text()).get("requirements") == list(VERSIONS))
    )


def install(venv: Path) -> None:
    """A new virtual environment with exactly the peer's dbt versions (a few minutes)."""
    print(f"installing {', '.join(VERSIONS)} into {venv} ...", file=sys.stderr, flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *VERSIONS]
    done = subprocess.run(pip, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"installing dbt failed:\n{done.stderr[-3000:]}")
    (venv / MARKER).write_text(json.dumps({"requirements": list(VERSIONS)}) + "\n")


def versions(venv: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
        "('dbt-core', 'dbt-duckdb', 'duckdb')}))"
    )
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def data_format(folder: Path) -> str:
    return "parquet" if any(folder.glob("*.parquet")) else "csv"


def with_memory_limit(profile: str, limit: str | None) -> str:
    """The peer's profiles.yml with DuckDB's memory_limit added to its `settings:` (as is when
    there is no limit to add)."""
    if not limit:
        return profile
    lines = profile.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.strip() == "settings:"]
    if len(at) != 1:
        raise RuntimeError("the peer's profiles.yml has no single `settings:` for memory_limit")
    indent = len(lines[at[0] + 1]) - len(lines[at[0] + 1].lstrip())
    lines.insert(at[0] + 1, f"{' ' * indent}memory_limit: {json.dumps(limit)}\n")
    return "".join(lines)


class Dbt:
    def __init__(
        self, venv: Path, work: Path, project: Path = PEER_PROJECT, memory_limit: str | None = None
    ) -> None:
        """memory_limit: DuckDB's, as a setting in the copy's profile; None: the peer's own
        profile (DuckDB's default)."""
        self.venv = venv
        self.python = str(venv / "bin" / "python")
        self.project = work / "dbt-project"
        self.targets = work / "dbt-targets"
        if not self.project.exists():
            shutil.copytree(
                project, self.project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*")
            )
        profile = (project / "profiles.yml").read_text()
        (self.project / "profiles.yml").write_text(with_memory_limit(profile, memory_limit))
        skip = ("DBT_", "GREENERY_", "PYTHONPATH", "PYTHONHOME")  # nothing of greenery's own
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        self.parsed: set[Path] = set()

    def env(self, db: Path, data: Path) -> dict[str, str]:
        key = hashlib.sha1(f"{db}\0{data}".encode()).hexdigest()[:12]
        target = self.targets / key
        return {
            **self.base_env,
            "DBT_PROFILES_DIR": str(self.project),
            "DBT_DUCKDB_PATH": str(db),
            "GREENERY_DATA_DIR": str(data),
            "GREENERY_DATA_FORMAT": data_format(data),
            "DBT_THREADS": "2",
            "DBT_TARGET_PATH": str(target),
            "DBT_LOG_PATH": str(target / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
            "DBT_VERSION_CHECK": "false",
        }

    def step(self, db: Path, data: Path, *args: str, parsed: bool = True) -> Step:
        """`dbt ARGS` on warehouse `db` over the files in `data`; parsed once beforehand when
        the step is to be measured (`parsed`), not for preparation."""
        env = self.env(db, data)
        target = Path(env["DBT_TARGET_PATH"])
        if parsed and target not in self.parsed:
            run_untimed(Step((str(self.venv / "bin" / "dbt"), "parse"), env, self.project))
            self.parsed.add(target)
        return Step((str(self.venv / "bin" / "dbt"), *args), env, self.project)

    def show_plan(
        self,
        db: Path,
        data: Path,
        model: str,
        answer: Callable[[list[dict[str, Any]]], object],
        setup: Callable[[], object] | None = None,
    ) -> Plan:
        """`dbt show` of a model (its SELECT run over the built warehouse, every row, JSON)."""
        step = self.step(
            db, data, "show", "--select", model, "--output", "json", "--limit", "-1", "--quiet"
        )
        return Plan((step,), lambda out: answer(json.loads(out)["show"]), shown(step), setup)

    def query(self, db: Path, select: str) -> Step:
        """A read-only query of what dbt built, by a Python process of dbt's own environment."""
        return Step((self.python, str(JOB), "sql", str(db), select), self.base_env, self.project)
