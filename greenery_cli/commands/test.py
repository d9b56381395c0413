from __future__ import annotations

import click

from greenery_cli.options import GreeneryCommand, format_option, global_settings, wait_option


@click.command(cls=GreeneryCommand)
@click.option(
    "--select",
    "-s",
    "selectors",
    multiple=True,
    metavar="NAME",
    help="Only tests reading this model ('name', 'name+', '+name'), or a test or snapshot by "
    "name; repeatable.",
)
@format_option
@wait_option()
@click.pass_context
def command(ctx: click.Context, selectors: tuple[str, ...], fmt: str, wait: float) -> int:
    """Run the data tests declared in queries/<layer>/schema.toml and queries/tests/*.sql:
    each passes, warns, fails, errors or is skipped, with its failing rows counted and a few
    shown. Results go to meta.test_results.

    Exit 1 when any error-severity test fails or a test cannot run; warnings alone exit 0.
    """
    from greenery_cli.output import emit, stderr_console, to_json
    from greenery_cli.test_run import TestSettings, as_records, for_people, run_tests, summary
    from greenery_cli.views.listings import TESTS

    settings = global_settings(ctx)
    report = run_tests(
        TestSettings(db=settings.db, select=selectors, wait=wait, engine=settings.engine)
    )
    if fmt == "json":
        click.echo(to_json(as_records(report.results)))
    else:
        emit(
            for_people(report.results) if fmt == "table" else report.results,
            fmt,
            title="Data tests",
            layout=TESTS,
        )
    stderr_console().print(f"tests: {summary(report.counts)} (run {report.run_id})")
    return 1 if report.failed else 0
