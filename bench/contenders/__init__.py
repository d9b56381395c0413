"""The benchmark's contenders: greenery (the CLI), the hand-written DuckDB job, dbt-duckdb."""
