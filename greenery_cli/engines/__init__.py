"""Where greenery's SQL runs.

DuckDB (the warehouse file) is the engine every command uses today. `engines.spark` holds what
running the same project on Apache Spark through Spark Connect needs: the DuckDB-to-Spark SQL
dialect (`engines.spark.dialect`) and a local Spark Connect server (`engines.spark.server`).
Both import sqlglot/pyspark at module level, so import them only on the Spark path.
"""
