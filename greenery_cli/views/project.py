"""`greenery project` for people: a few lines about the project, then its sources."""

from __future__ import annotations

import sys

from greenery_cli.project.describe import ProjectSummary


def show_project(summary: ProjectSummary, fmt: str) -> None:
    import polars as pl

    from greenery_cli.output import emit, print_lines, stdout_console, to_json
    from greenery_cli.views.listings import SOURCES

    data = summary.as_dict()
    if fmt == "json":
        sys.stdout.write(to_json(data) + "\n")
        return
    sources = pl.DataFrame(
        [
            {
                "source": s["name"],
                "columns": len(s["columns"]),
                "primary_key": ", ".join(s["primary_key"]),
                "freshness_column": s["freshness_column"],
                "warn / error after": f"{s['warn_after'] or '-'} / {s['error_after'] or '-'}",
                "max shrink": f"{s['max_shrink']:.0%}",
            }
            for s in data["sources"]
        ]
    )
    if fmt != "table":
        emit(sources, fmt)
        return
    from rich.text import Text

    console = stdout_console()
    where = "built into greenery" if data["builtin"] else data["found"]
    snap = data["snapshot"]
    lines = [
        f"project {data['name']} (format {data['format']}) at {data['root']}, {where}",
        "models: " + ", ".join(f"{len(names)} {layer}" for layer, names in data["models"].items()),
        f"seeds: {', '.join(data['seeds']) or 'none'}; tests: {data['tests']}; "
        f"macros: {', '.join(data['macros']) or 'none'}; "
        f"exposures: {', '.join(data['exposures']) or 'none'}",
        f"snapshot: {snap['table']} of source {snap['source']} by {snap['unique_key']}, "
        f"checking {', '.join(snap['check_columns'])}; refuses to mark more than "
        f"{snap['max_deleted']:.0%} of them deleted (max_deleted)",
    ]
    print_lines(console, *(Text(line) for line in lines))
    emit(sources, "table", title="Sources (queries/sources.toml)", layout=SOURCES)
