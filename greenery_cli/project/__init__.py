"""The team's greenery project: where it is and what it declares.

Two homes, never mixed. A project (a folder holding greenery.toml) carries what the team may
change: models in queries/<layer>/ with their schema.toml, singular tests in queries/tests/,
macros in queries/macros/, queries/sources.toml, queries/exposures.toml and the seeds in seeds/
(the schedule matrix among them). greenery's own SQL (snapshot engine, questions, meta tables,
generator, templates) lives in the package, in greenery_cli/queries/, and is never looked for in
a project. docs/project.md describes the layout.

Which project: --project-dir, else $GREENERY_PROJECT_DIR, else the nearest greenery.toml from the
working folder upwards, else the shop's project built into greenery.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from greenery_cli.errors import UsageError

if TYPE_CHECKING:
    from greenery_cli.project.sources import Freshness, RawTable
    from greenery_cli.project.toml import TomlFile

CONFIG_FILE = "greenery.toml"
SOURCES_FILE = "queries/sources.toml"
# The project format this greenery reads; a project written for a newer one is refused.
FORMAT = 1
MISSING_POLICIES = ("ignore", "invalidate", "new_record")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_TOP_KEYS = {"engine", "project", "freshness", "snapshot", "models"}
# the model layers, in the order data flows through them (queries/<layer>/)
LAYERS = ("staging", "intermediate", "marts")
_PROJECT_KEYS = {"name", "format", "description"}
_FRESHNESS_KEYS = {"warn_after", "error_after", "record_warn_after", "record_error_after"}
_SNAPSHOT_KEYS = {"source", "unique_key", "check_columns", "missing", "max_deleted"}
# A snapshot may mark at most this fraction of the current products deleted unless
# --allow-shrink: a truncated export must not tombstone the catalogue.
DEFAULT_MAX_DELETED = 0.5


class SnapshotConfig(NamedTuple):
    """The table `greenery snapshot` historises, and how."""

    source: str = "products"
    unique_key: str = "product_id"
    check_columns: tuple[str, ...] = ("inventory",)
    missing: str = "new_record"
    max_deleted: float = DEFAULT_MAX_DELETED  # the fraction of current rows a run may delete

    @property
    def table(self) -> str:
        return f"{self.source}_snapshot"


class Project:
    """A project as read from its greenery.toml and sources (a plain class with read-only
    attributes: every command reads one, and a frozen dataclass costs about a millisecond of
    start-up to define)."""

    __slots__ = (
        "builtin",
        "description",
        "engine",
        "freshness",
        "how",
        "model_defaults",
        "name",
        "root",
        "snapshot",
        "sources",
    )

    def __init__(
        self,
        *,
        root: Path,
        how: str,
        builtin: bool,
        name: str,
        description: str,
        sources: tuple[RawTable, ...],
        snapshot: SnapshotConfig,
        freshness: Freshness,
        model_defaults: dict[str, dict[str, Any]] | None = None,
        engine: str | None = None,
    ) -> None:
        self.root: Final = root
        self.how: Final = how  # how it was found, for `greenery project` and the stderr note
        self.builtin: Final = builtin
        self.name: Final = name
        self.description: Final = description
        self.sources: Final = sources
        self.snapshot: Final = snapshot
        self.freshness: Final = freshness
        # [models] and [models.<layer>] of greenery.toml: layer ('' = every model) -> defaults
        self.model_defaults: Final = model_defaults or {}
        self.engine: Final = engine  # top-level `engine = "..."`: duckdb or sc://host:port

    def __repr__(self) -> str:
        return f"Project({self.name!r} at {str(self.root)!r}, {self.how})"

    @property
    def queries(self) -> Path:
        return self.root / "queries"

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def source_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.sources)

    def source(self, name: str) -> RawTable:
        for table in self.sources:
            if table.name == name:
                return table
        raise UsageError(
            f"{SOURCES_FILE} declares no source table {name!r} "
            f"(it declares {', '.join(self.source_names)})"
        )

    def shown(self, path: Path) -> str:
        """A project file as messages name it: relative to the project's root."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def builtin_root() -> Path:
    """The shop's project greenery ships: inside the wheel, or the checkout the package sits in."""
    shipped = _PACKAGE_DIR / "_project"
    if (shipped / CONFIG_FILE).is_file():
        return shipped
    return _PACKAGE_DIR.parent


_explicit: Path | None = None  # --project-dir, set by the CLI


def use_project_dir(folder: str | os.PathLike[str] | None) -> None:
    """Make `folder` the project every later call uses (None: find it as usual)."""
    global _explicit
    _explicit = Path(folder).expanduser().resolve() if folder else None


def locate() -> tuple[Path, str]:
    """(the project's root, how it was found)."""
    if _explicit is not None:
        return _explicit, "--project-dir"
    env = os.environ.get("GREENERY_PROJECT_DIR")
    if env:
        return Path(env).expanduser().resolve(), "GREENERY_PROJECT_DIR"
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder, "found from the working folder"
    return builtin_root(), "built in"


_cache: dict[tuple[Path, str], tuple[tuple[int, ...], Project]] = {}


def current() -> Project:
    """The project in use, read once and again whenever its declarations change on disk."""
    root, how = locate()
    files = (root / CONFIG_FILE, root / SOURCES_FILE)
    stamp = tuple(p.stat().st_mtime_ns if p.is_file() else 0 for p in files)
    cached = _cache.get((root, how))
    if cached and cached[0] == stamp:
        return cached[1]
    project = read_project(root, how)
    _cache[(root, how)] = (stamp, project)
    return project


class Verdict(NamedTuple):
    """What the CLI says of the project in use before any command runs (it was accepted)."""

    root: Path
    how: str
    builtin: bool
    name: str
    engine: str | None = None  # greenery.toml's top-level engine, when it names one


def verdict() -> Verdict:
    """The project in use, checked as `current()` checks it, without reading it again when its
    declarations and this greenery's project code are what an earlier run accepted: every
    command starts here, and parsing the TOML costs more than a small question's query."""
    import hashlib
    import json

    from greenery_cli import __version__
    from greenery_cli.resources import cache_root

    root, how = locate()
    digest = hashlib.sha256(repr((__version__, str(root), how)).encode())
    try:
        for path in (root / CONFIG_FILE, root / SOURCES_FILE):
            digest.update(path.read_bytes() if path.is_file() else b"\0missing")
        for code in sorted(Path(__file__).parent.glob("*.py")):
            info = code.stat()
            digest.update(f"{code.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    except OSError:
        digest.update(os.urandom(8))  # unreadable: read_project says why, below
    disabled = os.environ.get("GREENERY_STARTUP_CACHE", "").strip().lower() == "off"
    entry = cache_root() / "project" / f"{digest.hexdigest()}.json"
    if not disabled:
        try:
            known = json.loads(entry.read_text(encoding="utf-8"))
            engine = known.get("engine")
            return Verdict(
                root, how, bool(known["builtin"]), str(known["name"]), engine and str(engine)
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass
    project = current()  # refuses a malformed project: nothing is remembered then
    if not disabled:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            partial = entry.with_name(f".{entry.name}.{os.getpid()}.tmp")
            partial.write_text(
                json.dumps(
                    {"builtin": project.builtin, "name": project.name, "engine": project.engine}
                ),
                encoding="utf-8",
            )
            os.replace(partial, entry)
        except OSError:
            pass
    return Verdict(project.root, project.how, project.builtin, project.name, project.engine)


def read_project(root: Path, how: str = "given") -> Project:
    """Read and check a project's greenery.toml and sources; refuse it, naming file and line."""
    from greenery_cli.project.model_config import parse_layer_defaults
    from greenery_cli.project.sources import Freshness, parse_sources
    from greenery_cli.project.toml import TomlFile, check_keys, identifier

    if not root.is_dir():
        raise UsageError(f"project folder {root} does not exist ({how})")
    if not (root / CONFIG_FILE).is_file():
        raise UsageError(
            f"{root} is not a greenery project: it has no {CONFIG_FILE} ({how}); "
            "`greenery init DIR` writes a new project"
        )
    file = TomlFile.read(root / CONFIG_FILE, str(root / CONFIG_FILE))
    data = file.data
    check_keys(file, data, _TOP_KEYS, CONFIG_FILE, "project")
    meta = _table(file, data, "project", _PROJECT_KEYS)
    version = meta.get("format", FORMAT)
    if not isinstance(version, int) or version < 1:
        file.fail(f"[project] format = {version!r} is not a format number", key="format")
    if version > FORMAT:
        file.fail(
            f"[project] format = {version}: this project was written for a newer greenery "
            f"(this one reads format {FORMAT}); upgrade greenery",
            key="format",
        )
    name = meta.get("name", root.name)
    identifier(file, name, "[project] name")
    fresh = _table(file, data, "freshness", _FRESHNESS_KEYS)
    for key, value in fresh.items():
        if not isinstance(value, str):
            file.fail(f"[freshness] {key} must be a duration like 1d", key=key)
    defaults = Freshness(**{k: fresh.get(k, getattr(Freshness(), k)) for k in _FRESHNESS_KEYS})
    sources = parse_sources(root / SOURCES_FILE, defaults)
    snapshot = _snapshot(file, _table(file, data, "snapshot", _SNAPSHOT_KEYS), sources)
    model_defaults = parse_layer_defaults(file, data.get("models", {}), LAYERS)
    engine = data.get("engine")
    if engine is not None:
        from greenery_cli.engines.url import parse_engine

        if not isinstance(engine, str):
            file.fail("engine must be a string: duckdb or sc://host:port", key="engine")
        try:
            parse_engine(engine, "engine")
        except UsageError as exc:
            file.fail(str(exc), key="engine")
    return Project(
        root=root,
        how=how,
        builtin=root == builtin_root(),
        name=name,
        description=str(meta.get("description", "")),
        sources=sources,
        snapshot=snapshot,
        freshness=defaults,
        model_defaults=model_defaults,
        engine=engine,
    )


def _table(file: TomlFile, data: dict[str, Any], name: str, known: set[str]) -> dict[str, Any]:
    from greenery_cli.project.toml import check_keys

    spec = data.get(name, {})
    if not isinstance(spec, dict):
        file.fail(f"{name} must be a [{name}] table", key=name)
    check_keys(file, spec, known, f"[{name}]", name)
    return spec


def _snapshot(
    file: TomlFile, spec: dict[str, Any], sources: tuple[RawTable, ...]
) -> SnapshotConfig:
    from greenery_cli.project.sources import fraction
    from greenery_cli.project.toml import string_list

    default = SnapshotConfig()
    source_name = spec.get("source", default.source)
    table = next((t for t in sources if t.name == source_name), None)
    if table is None:
        file.fail(
            f"[snapshot] source = {source_name!r} is not declared in {SOURCES_FILE}",
            key="source",
        )
    key = spec.get("unique_key", table.primary_key[0] if table.primary_key else None)
    if not isinstance(key, str) or key not in table.columns:
        file.fail(
            f"[snapshot] unique_key {key!r} is not a column of {source_name}", key="unique_key"
        )
    checks = string_list(
        file,
        spec.get("check_columns", list(default.check_columns)),
        "[snapshot] check_columns",
        "check_columns",
    )
    unknown = [c for c in checks if c not in table.columns and c not in ("*", "all")]
    if unknown:
        file.fail(
            f"[snapshot] check_columns names undeclared column(s) {', '.join(unknown)} of "
            f"{source_name}",
            key="check_columns",
        )
    missing = spec.get("missing", default.missing)
    if missing not in MISSING_POLICIES:
        file.fail(
            f"[snapshot] missing = {missing!r}: expected one of {', '.join(MISSING_POLICIES)}",
            key="missing",
        )
    max_deleted = (
        fraction(file, spec["max_deleted"], "[snapshot] max_deleted", "max_deleted")
        if "max_deleted" in spec
        else DEFAULT_MAX_DELETED
    )
    return SnapshotConfig(source_name, key, tuple(checks), missing, max_deleted)
