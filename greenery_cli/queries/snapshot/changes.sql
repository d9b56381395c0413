-- Every product whose history moves in this run, why (new, changed, returned after a tombstone, or gone),
-- and its values in the source: the rows of the run's change set, snapshot_changes (a temp table on
-- DuckDB, a session view on Spark). Context: staged, history, missing, compared, and source_row and
-- source_position, the staged row as a struct and its place in the file (DuckDB: s and s.rowid,
-- Spark's staged view carries source_position, and has no row reference, so names its columns).
with current_versions as (
    select * from {{ history }} where valid_to is null
)
select
    coalesce(s.product_id, c.product_id) as product_id,
    c.snapshot_row_id as current_row_id,
    {{ source_position }} as source_position,
    {{ source_row }} as source_row,  -- the source's values as a struct, so no source column name can clash
    case
        when c.product_id is null then 'new'
        when s.product_id is null then 'gone'
        when c.is_deleted then 'returned'
        else 'changed'
    end as change
from {{ staged }} as s
full outer join current_versions as c on s.product_id = c.product_id
where
    c.product_id is null
    or (s.product_id is not null and c.is_deleted)
    {%- if missing != "ignore" %}
    or (s.product_id is null and not c.is_deleted)
    {%- endif %}
    {%- if compared %}
    or (s.product_id is not null and not c.is_deleted and (
        {%- for column in compared %}
        {% if not loop.first %}or {% endif %}
        {%- if column.param %}(c.opened_by_run >= ${{ column.param }} and {% endif -%}
        s.{{ column.quoted }} is distinct from c.{{ column.quoted }}
        {%- if column.param %}){% endif %}
        {%- endfor %}
    ))
    {%- endif %}
