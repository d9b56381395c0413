"""`greenery init DIR`: write the shop's project (what greenery ships) for a team to own."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from greenery_cli.errors import UsageError
from greenery_cli.project import CONFIG_FILE, builtin_root, read_project

# what a project holds; everything else in the built-in root (a checkout's code) is not copied
PROJECT_PARTS = (CONFIG_FILE, "queries", "seeds")


@dataclass(frozen=True)
class InitResult:
    root: Path
    files: tuple[str, ...]  # relative to root


def project_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for part in PROJECT_PARTS:
        path = root / part
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
            ]
    return found


def init_project(target: str | Path) -> InitResult:
    """Copy the built-in project into `target`; refuse to overwrite any file already there."""
    source = builtin_root()
    read_project(source, "built in")  # what is copied must itself be a sound project
    target = Path(target).expanduser()
    files = project_files(source)
    relative = [p.relative_to(source) for p in files]
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder")
    clashes = [str(r) for r in relative if (target / r).exists()]
    if clashes:
        shown = ", ".join(clashes[:3]) + (
            f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        )
        raise UsageError(
            f"{target} already holds {shown}: greenery init writes a new project and "
            "overwrites nothing"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    # build it beside the target and move it in, so an interrupted init leaves nothing half-written
    staging = Path(tempfile.mkdtemp(prefix=".greenery-init-", dir=target.parent))
    try:
        for path, rel in zip(files, relative, strict=True):
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, staging / rel)
        if not target.exists():
            staging.rename(target)
        else:
            for rel in relative:
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                (staging / rel).rename(target / rel)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return InitResult(target.resolve(), tuple(r.as_posix() for r in relative))
