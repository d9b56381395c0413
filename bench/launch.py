"""Run one command and write its wall time, CPU time and peak RSS as JSON: `launch.py OUT ARGV...`.

The benchmark starts every measured process through this small launcher (run with `python -I
-S`) rather than directly: Linux carries a process's peak RSS across fork and exec, so a command
forked by the (large) benchmark process would report at least the benchmark's own size. Forked
from this launcher, its floor is the launcher's few MB. Wall time runs from just before the fork
to the end of the wait; CPU time and peak RSS are the child's rusage from os.wait4, which covers
the child and every descendant it waited for. stdin, stdout, stderr, cwd and the environment are
the child's as given to the launcher. Exits with the child's exit code.
"""

import json
import os
import sys
import time


def main() -> int:
    out, argv = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"cannot run {argv[0]}: {exc}\n".encode())
        os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    figures = {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "exit": code,
    }
    with open(out, "w") as handle:
        json.dump(figures, handle)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
