-- A table model's full build (and an incremental model's first or --full-refresh build).
create or replace table {{ relation }} as
{{ sql }}
