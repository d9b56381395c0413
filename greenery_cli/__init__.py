"""greenery: analytics for the Greenery plant shop, from one DuckDB warehouse."""

__version__ = "0.1.0"
