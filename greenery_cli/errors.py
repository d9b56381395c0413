"""One error hierarchy and one exit-code map, translated to an exit at the CLI edge."""

from __future__ import annotations

import errno
import re
from enum import IntEnum
from os import PathLike


class ExitCode(IntEnum):
    """Exit codes follow dbt's convention, plus greenery's own additions."""

    OK = 0
    WORK_FAILED = 1  # a data test, a freshness error, an overdue model, bad input data
    TOOL_ERROR = 2  # bad invocation, unreadable source, broken warehouse
    BUSY = 3  # another greenery process holds the warehouse longer than --wait

    @classmethod
    def help_text(cls) -> str:
        return (
            "Exit codes: 0 ok; 1 the work failed (bad input data, a failing test, "
            "a freshness error, overdue models); 2 usage or tool error (a full disk included); "
            "3 another greenery process kept writing the warehouse past --wait; "
            "130 Ctrl-C; 143 SIGTERM."
        )


class GreeneryError(Exception):
    """Base of every error greenery reports to a user; never shown as a traceback."""

    exit_code: ExitCode = ExitCode.TOOL_ERROR


class UsageError(GreeneryError):
    """The invocation or the configuration is wrong."""


class SourceError(GreeneryError):
    """The source cannot be reached or read (missing folder, unreachable database)."""


class DataError(GreeneryError):
    """The input data breaks the contract: missing column, bad value, duplicate key."""

    exit_code = ExitCode.WORK_FAILED


class ModelError(GreeneryError):
    """A model's SQL or its dependency graph is broken."""


class WarehouseError(GreeneryError):
    """The warehouse file is unusable: wrong schema version, corrupt, not a DuckDB file."""


class DiskFull(WarehouseError):
    """No space left on the device greenery writes to."""


class WarehouseBusy(GreeneryError):
    """Another process holds the warehouse."""

    exit_code = ExitCode.BUSY


class WorkFailed(GreeneryError):
    """The command ran but its verdict is a failure (tests, freshness, overdue models)."""

    exit_code = ExitCode.WORK_FAILED


_NO_SPACE = re.compile(r"no space left on device|disk is full|disk full", re.IGNORECASE)
_QUOTED_PATH = re.compile(r"\"(/[^\"]+)\"")


def disk_full(exc: BaseException, near: PathLike[str] | str | None = None) -> DiskFull | None:
    """A full disk as one line naming the file being written, or None for any other error."""
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = exc.filename or near
    elif _NO_SPACE.search(str(exc)):
        found = _QUOTED_PATH.search(str(exc))
        where = found.group(1) if found else near
    else:
        return None
    what = f"writing {where}" if where else "writing"
    return DiskFull(f"no space left on the device {what}; free some space and run again")
