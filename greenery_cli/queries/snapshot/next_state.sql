-- The whole history after one run, as ONE portable SELECT (the snapshot on engines that cannot
-- change a table in place: Spark writes it as a new generation table, then swaps a view over it).
-- The run's change set is DuckDB's, snapshot_changes (changes.sql: which current versions close,
-- and the source's values as source_row). This closes them as close.sql does and opens versions as
-- opened.sql/open.sql do: numbered after the newest row, in source order, tombstones last.
-- Context: history, missing, and leading and trailing: the data columns before and after the
-- snapshot's own (trailing: those the source added), each with quoted, type, and whether the
-- history (in_history) and the source (in_source) have it (if not: NULL). Values: $taken_at, $run_id.
{%- macro value(row, column, present) -%}
{% if present %}{{ row }}.{{ column.quoted }}{% else %}cast(null as {{ column.type }}){% endif %} as {{ column.quoted }}
{%- endmacro %}
with opened as (
    select
        {%- for column in leading + trailing %}
        {{ value('c.source_row', column, column.in_source) }},
        {%- endfor %}
        false as is_deleted,
        c.source_position as position
    from snapshot_changes as c
    where c.change <> 'gone'
    {%- if missing == "new_record" %}
    union all
    select
        {%- for column in leading + trailing %}
        {{ value('p', column, column.in_history) }},
        {%- endfor %}
        true as is_deleted,
        p.snapshot_row_id as position
    from snapshot_changes as c
    join {{ history }} as p on p.snapshot_row_id = c.current_row_id
    where c.change = 'gone'
    {%- endif %}
),
closing as (
    select current_row_id from snapshot_changes where current_row_id is not null
),
newest as (
    select coalesce(max(snapshot_row_id), 0) as row_id from {{ history }}
)
select
    h.snapshot_row_id,
    {%- for column in leading %}
    {{ value('h', column, column.in_history) }},
    {%- endfor %}
    h.valid_from,
    case when x.current_row_id is null then h.valid_to else $taken_at end as valid_to,
    h.is_deleted,
    h.opened_by_run,
    case when x.current_row_id is null then h.closed_by_run else $run_id end as closed_by_run
    {%- for column in trailing %},
    {{ value('h', column, column.in_history) }}
    {%- endfor %}
from {{ history }} as h
left join closing as x on x.current_row_id = h.snapshot_row_id
union all
select
    n.row_id + row_number() over (order by o.is_deleted, o.position) as snapshot_row_id,
    {%- for column in leading %}
    o.{{ column.quoted }},
    {%- endfor %}
    $taken_at as valid_from,
    cast(null as timestamptz) as valid_to,
    o.is_deleted,
    $run_id as opened_by_run,
    cast(null as bigint) as closed_by_run
    {%- for column in trailing %},
    o.{{ column.quoted }}
    {%- endfor %}
from opened as o
cross join newest as n
