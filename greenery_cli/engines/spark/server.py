"""A local Spark Connect server on 127.0.0.1, from the jars inside the pyspark wheel.

The wheel ships Spark itself (jars/, including spark-connect) and its launch scripts (bin/),
so `spark-submit --class org.apache.spark.sql.connect.service.SparkConnectServer` starts a
server with no download and no ivy/maven resolution (no --packages is ever passed). Everything
the server writes (warehouse, scratch, logs, metastore) stays under one work folder. Tests and
benchmarks use it; a real deployment points `sc://host:port` at its own cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from greenery_cli.errors import UsageError

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_DRIVER_MEMORY = "1g"
DEFAULT_START_TIMEOUT = 180.0
_STARTED = re.compile(r"Spark Connect server started at: [^\s:]+:(\d+)")
# WARN and above, except the line that says where the server listens
_LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
logger.connect.name = org.apache.spark.sql.connect.service.SparkConnectServer
logger.connect.level = info
"""


def spark_home() -> Path:
    """The Spark distribution inside the installed pyspark wheel."""
    import importlib.util

    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        from greenery_cli.engines.spark import INSTALL_HINT

        raise UsageError(f"a local Spark Connect server needs pyspark: {INSTALL_HINT}")
    home = Path(spec.origin).parent
    if not (home / "jars").is_dir() or not list((home / "jars").glob("spark-connect_*.jar")):
        raise UsageError(
            f"{home} has no Spark jars (a pyspark-client install?); install the full pyspark"
        )
    return home


def java_executable() -> str | None:
    """The java that spark-submit will run: $JAVA_HOME/bin/java, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def java_major_version(java: str) -> int | None:
    """17 for `openjdk version "17.0.15"`; None when java does not say."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major  # "1.8" is Java 8


def server_command(
    workdir: Path,
    *,
    port: int = 0,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    cores: int = 2,
    catalog: str = "in-memory",
) -> list[str]:
    """spark-submit's command line for a server bound to 127.0.0.1 (port 0: any free port)."""
    scratch = workdir / "tmp"
    conf = {
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": str(workdir / "warehouse"),
        "spark.sql.catalogImplementation": catalog,
        "spark.local.dir": str(scratch),
        "spark.jars.ivy": str(workdir / "ivy"),
        "spark.ui.enabled": "false",
        # one small machine: 200 shuffle partitions would be 200 tasks per exchange
        "spark.sql.shuffle.partitions": str(max(2, cores)),
        "spark.driver.extraJavaOptions": (
            f"-Djava.io.tmpdir={scratch} -Dderby.system.home={workdir / 'metastore'}"
        ),
    }
    command = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        SERVER_CLASS,
        "--master",
        f"local[{cores}]",
        "--name",
        "greenery-spark-connect",
        "--driver-memory",
        driver_memory,
    ]
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return command


def _environment(workdir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPARK_", "PYSPARK_")) and k not in ("HADOOP_CONF_DIR",)
    }
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_CONF_DIR=str(workdir / "conf"),  # an empty conf: no spark-defaults from anywhere
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_LOCAL_DIRS=str(workdir / "tmp"),
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_CONNECT_MODE="0",  # as sbin/start-connect-server.sh sets it: a classic server
    )
    return env


@dataclass
class LocalServer:
    """A running server; stop() ends it (and only it)."""

    workdir: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    started_in: float  # seconds from launch until it listened
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the server's own process group, then SIGKILL it if it lingers."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is not None:
            return
        pgid = self.process.pid  # started with start_new_session: the group is ours alone
        os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout)


def start_local_server(
    workdir: Path,
    *,
    port: int = 0,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    cores: int = 2,
    catalog: str = "in-memory",
    timeout: float = DEFAULT_START_TIMEOUT,
) -> LocalServer:
    """Start a server under `workdir` and wait (at most `timeout` s) until it listens."""
    java = java_executable()
    version = java_major_version(java) if java else None
    if version is None or version < 17:
        seen = f"found Java {version} at {java}" if version else "no java found"
        raise UsageError(f"a local Spark Connect server needs Java 17 or newer ({seen})")
    for sub in ("conf", "logs", "tmp", "warehouse", "metastore"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    (workdir / "conf" / "log4j2.properties").write_text(_LOG4J)
    log = workdir / "logs" / "server.log"
    command = server_command(
        workdir, port=port, driver_memory=driver_memory, cores=cores, catalog=catalog
    )
    launched = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=_environment(workdir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = LocalServer(workdir, port, process, log, 0.0)
    deadline = launched + timeout
    while True:
        found = _STARTED.search(log.read_text(errors="replace"))
        if found:
            server.port = int(found.group(1))
            server.started_in = time.monotonic() - launched
            return server
        if process.poll() is not None or time.monotonic() > deadline:
            what = (
                f"exited with code {process.returncode}"
                if process.poll() is not None
                else f"did not listen within {timeout:g}s"
            )
            tail = server.log_tail()
            server.stop()
            raise UsageError(f"the local Spark Connect server {what}; its log ends:\n{tail}")
        time.sleep(0.25)
