"""Apache Spark through Spark Connect: greenery's optional `spark` extra.

Nothing here is imported unless a Spark path asks for it; `require()` turns a missing extra
into one line saying what to install.
"""

from __future__ import annotations

import importlib.util

from greenery_cli.errors import UsageError

INSTALL_HINT = "pip install 'greenery[spark]'"
# what the extra brings: the Spark Connect client and the SQL transpiler
_MODULES = {"pyspark": "pyspark", "sqlglot": "sqlglot", "grpc": "grpcio", "pandas": "pandas"}


def missing_modules() -> list[str]:
    """The extra's packages that are not installed (empty when the extra is)."""
    return [pkg for mod, pkg in _MODULES.items() if importlib.util.find_spec(mod) is None]


def require(what: str = "the Spark engine") -> None:
    """Raise a one-line UsageError when the `spark` extra is not installed."""
    missing = missing_modules()
    if missing:
        raise UsageError(f"{what} needs {', '.join(missing)}: {INSTALL_HINT}")
