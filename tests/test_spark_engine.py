"""The spark extra stays off the DuckDB path; the local Spark Connect server harness."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SPARK_MODULES = ("sqlglot", "pyspark", "grpc", "pandas")


def _imported_after(code: str) -> list[str]:
    probe = (
        "import sys\n"
        f"{code}\n"
        f"loaded = [m for m in {SPARK_MODULES!r} if m in sys.modules]\n"
        "sys.stderr.write('LOADED=' + ','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stderr.rsplit("LOADED=", 1)[1].strip().split(",") if m]


def test_help_imports_nothing_of_the_spark_extra() -> None:
    code = (
        "from greenery_cli.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass"
    )
    assert _imported_after(code) == []


def test_a_duckdb_question_imports_nothing_of_the_spark_extra(loaded_real_warehouse: Path) -> None:
    code = (
        "from greenery_cli.cli import main\n"
        "try:\n"
        f"    main(['--db', {str(loaded_real_warehouse)!r}, 'funnel', '--format', 'json'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code"
    )
    assert _imported_after(code) == []


def test_a_missing_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from greenery_cli.engines import spark
    from greenery_cli.errors import UsageError

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a)
    )
    with pytest.raises(UsageError, match=r"needs pyspark: pip install 'greenery\[spark\]'"):
        spark.require("--engine sc://...")


def test_the_server_command_stays_local(tmp_path: Path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    from greenery_cli.engines.spark.server import server_command

    command = server_command(tmp_path, port=15002)
    text = " ".join(command)
    assert "--packages" not in command and "--repositories" not in command  # no resolution
    assert "spark.connect.grpc.binding.address=127.0.0.1" in text
    assert "spark.sql.session.timeZone=UTC" in text
    assert f"spark.sql.warehouse.dir={tmp_path / 'warehouse'}" in text
    assert f"spark.jars.ivy={tmp_path / 'ivy'}" in text


def _address(hex_address: str) -> str:
    """/proc/net/tcp[6]'s little-endian hex address as text (IPv4-mapped IPv6 as IPv4)."""
    import ipaddress

    raw = b"".join(
        bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)
    )
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses of every TCP socket process `pid` listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                found.add(_address(local.split(":")[0]))
    return found


def test_proc_addresses_read_as_text() -> None:
    assert _address("0100007F") == "127.0.0.1"
    assert _address("0000000000000000FFFF00000100007F") == "127.0.0.1"
    assert _address("00000000000000000000000000000000") == "::"


@pytest.mark.slow
def test_the_local_server_listens_on_loopback_only_in_utc(spark_server: Any, spark: Any) -> None:
    assert spark_server.url.startswith("sc://127.0.0.1:")
    assert _listening_addresses(spark_server.process.pid) == {"127.0.0.1"}
    assert spark.sql("select current_timezone()").collect()[0][0] == "UTC"
    warehouse = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    assert warehouse.is_relative_to(spark_server.workdir)
