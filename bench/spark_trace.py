"""Run `greenery ARGS...` in this process, timing its Spark engine calls: `spark_trace.py OUT ARGS`.

bench/spark.py starts every Spark-side command through this wrapper (in place of the `greenery`
script: the same interpreter and the same `greenery_cli.cli:main`). It wraps
`engines.spark.engine.connect` (session set-up: the first round trip and the session's time
zone) and the outermost SparkEngine call of each statement or catalogue look-up, and writes at
exit, as JSON: seconds from start to the connect, the connect, the statements (count and
seconds) and the whole run. Nested calls (create_table_as's drop, say) count once, in the
outer one. Greenery's own code is unchanged.
"""

import atexit
import json
import sys
import time
from contextlib import contextmanager

STARTED = time.perf_counter()
OPERATIONS = (
    "execute",
    "arrow",
    "table_exists",
    "relations",
    "kind_of",
    "drop",
    "create_table_as",
    "create_view_as",
    "read_csv",
)


def main() -> None:
    out, sys.argv = sys.argv[1], ["greenery", *sys.argv[2:]]
    trace = {"before_connect": None, "connect": 0.0, "statements": 0, "statement_s": 0.0}
    depth = [0]

    from greenery_cli.engines.spark import engine as spark_engine

    original_connect = spark_engine.connect

    @contextmanager
    def connect(spec):  # type: ignore[no-untyped-def]
        clock = time.perf_counter()
        if trace["before_connect"] is None:
            trace["before_connect"] = clock - STARTED
        with original_connect(spec) as opened:
            trace["connect"] += time.perf_counter() - clock
            yield opened

    spark_engine.connect = connect

    def timed(name: str):  # type: ignore[no-untyped-def]
        method = getattr(spark_engine.SparkEngine, name)

        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            depth[0] += 1
            clock = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    trace["statements"] += 1
                    trace["statement_s"] += time.perf_counter() - clock

        return wrapper

    for name in OPERATIONS:
        setattr(spark_engine.SparkEngine, name, timed(name))

    def write() -> None:
        trace["total"] = time.perf_counter() - STARTED
        with open(out, "w") as handle:
            json.dump(trace, handle)

    atexit.register(write)
    from greenery_cli.cli import main as greenery

    greenery()


if __name__ == "__main__":
    main()
