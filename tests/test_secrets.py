"""No password, in any spelling, reaches stdout, stderr, the run log or any file greenery writes.

Every spelling of a database connection a person might type, well-formed or not, is given to
`load` and `snapshot`; then everything is scanned: stdout, stderr, the bytes of every file under
the test's folder (the warehouse among them) and every text column of every warehouse table.
The servers named do not exist (port 1 refuses at once), so each run fails; the refusal is
recorded in the warehouse, which is where a leak would be kept.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest
from conftest import run_cli

from greenery_cli.errors import ExitCode

pytest.importorskip("adbc_driver_postgresql.dbapi", reason="adbc-driver-postgresql missing")

PASSWORD = "Zq8hunter2xK"
ODD = "Zq8@hun/ter?2#xK"  # a password an unencoded URL mangles
HOST = "127.0.0.1:1"  # nothing listens on port 1

SPECS = [
    f"postgresql://clerk:{PASSWORD}@{HOST}/shop?schema=public",
    f"POSTGRESQL://clerk:{PASSWORD}@{HOST}/shop",
    f"PostGres://clerk:{PASSWORD}@{HOST}/shop",
    f"postgresql://clerk:{ODD}@{HOST}/shop",
    f"postgresql://clerk:{quote(ODD, safe='')}@{HOST}/shop",
    f"postgresql://clerk@{HOST}/shop?password={PASSWORD}",
    f"postgresql://clerk@{HOST}/shop?sslpassword={PASSWORD}&schema=x",
    f"host=127.0.0.1 port=1 user=clerk password={PASSWORD} dbname=shop",
    f"host=127.0.0.1 port=1 password='{PASSWORD} x' dbname=shop",
    f"HOST=127.0.0.1 PORT=1 PASSWORD={PASSWORD}",
    f"service=greenery-nowhere password={PASSWORD}",
    f"host=127.0.0.1 password='{PASSWORD}",  # never closed
    f"host=127.0.0.1 colour=blue password={PASSWORD}",  # not a libpq keyword
    f"postgress://clerk:{PASSWORD}@{HOST}/shop",
    f"postgresql:/clerk:{PASSWORD}@{HOST}/shop",
    f"postgresql:clerk:{PASSWORD}@{HOST}/shop",
    f"pg://clerk:{PASSWORD}@{HOST}/shop",
    f"jdbc:postgresql://clerk:{PASSWORD}@{HOST}/shop",
    f"postgresql+psycopg2://clerk:{PASSWORD}@{HOST}/shop",
    f"clerk:{PASSWORD}@{HOST}/shop",
    f"mysql://clerk:{PASSWORD}@{HOST}/shop",
    f" postgresql://clerk:{PASSWORD}@{HOST}/shop ",
    f"postgresql://clerk:{PASSWORD}@bad host/shop",
]


def spellings(secret: str) -> set[str]:
    words = {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}
    return {w for w in words if w} | {w.lower() for w in words}


SECRETS = spellings(PASSWORD) | spellings(ODD) | {"hunter2", "hun/ter", "ter?2"}


def warehouse_texts(db: Path) -> list[str]:
    """Every text value of every table in the warehouse."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        texts: list[str] = []
        for schema, table, column in columns:
            texts += [
                str(v)
                for (v,) in con.execute(
                    f'select "{column}" from "{schema}"."{table}" where "{column}" is not null'
                ).fetchall()
            ]
    return texts


def assert_no_secret(where: str, text: str | bytes) -> None:
    haystack = text if isinstance(text, bytes) else text.encode()
    for secret in SECRETS:
        assert secret.encode() not in haystack.lower() and secret.encode() not in haystack, (
            f"{secret!r} found in {where}"
        )


@pytest.fixture(scope="module")
def seeded(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from greenery_cli.load import LoadSettings, load

    db = tmp_path_factory.mktemp("secrets") / "w.duckdb"
    load(LoadSettings(db=db, source=str(real_data / "raw")))
    return db


@pytest.mark.parametrize("spec", SPECS, ids=[f"spec{i}" for i in range(len(SPECS))])
def test_no_password_is_printed_or_stored_for_any_spelling(
    spec: str, seeded: Path, tmp_path: Path
) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(seeded, db)
    fresh = tmp_path / "fresh.duckdb"
    outputs: list[tuple[str, str]] = []
    runs = (
        (db, ["load"]),
        (db, ["snapshot"]),
        (fresh, ["snapshot", "--dry-run"]),
        (fresh, ["load"]),
    )
    for target, command in runs:
        result = run_cli("--db", str(target), *command, "--source", spec, "--wait", "5")
        assert result.exit_code in (ExitCode.TOOL_ERROR, ExitCode.WORK_FAILED), result
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
        outputs += [("stdout", result.stdout), ("stderr", result.stderr)]
    for where, text in outputs:
        assert_no_secret(where, text)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert_no_secret(str(path), path.read_bytes())
    for text in warehouse_texts(db):
        assert_no_secret(f"a text in {db}", text)
    assert not fresh.exists()  # a failed first command makes no warehouse


def test_every_malformed_spelling_is_refused_before_the_warehouse_opens(tmp_path: Path) -> None:
    """None of them is taken for a folder: the message is about a connection, not a path."""
    for spec in SPECS:
        result = run_cli("--db", str(tmp_path / "w.duckdb"), "load", "--source", spec)
        assert "no such" not in result.stderr.lower()
        assert "source folder" not in result.stderr, (spec, result.stderr)
