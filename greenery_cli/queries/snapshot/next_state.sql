-- The whole history after one run, as ONE portable SELECT (the snapshot on engines that cannot
-- change a table in place: Spark writes it as a new generation table, then swaps a view over it).
-- Same rules as changes.sql/opened.sql/close.sql/open.sql: a product's current version closes at
-- the run's moment when it is new, returned, changed in a check column or (unless missing is
-- ignore) gone. New versions are numbered after the newest row, in source order, tombstones last.
with current_versions as (
    select * from {{ history }} where valid_to is null
),
changes as (
    select
        c.snapshot_row_id as current_row_id,
        s.source_position,
        case
            when c.{{ key }} is null then 'new'
            when s.{{ key }} is null then 'gone'
            when c.is_deleted then 'returned'
            else 'changed'
        end as change
        {%- for column in columns %},
        s.{{ column }} as {{ column }}
        {%- endfor %}
    from {{ staged }} as s
    full outer join current_versions as c on s.{{ key }} = c.{{ key }}
    where
        c.{{ key }} is null
        or (s.{{ key }} is not null and c.is_deleted)
        {%- if missing != "ignore" %}
        or (s.{{ key }} is null and not c.is_deleted)
        {%- endif %}
        or (s.{{ key }} is not null and not c.is_deleted and (
            {%- for column in check_columns %}
            {% if not loop.first %}or {% endif %}s.{{ column }} is distinct from c.{{ column }}
            {%- endfor %}
        ))
),
opened as (
    select {% for column in columns %}{{ column }}, {% endfor %}false as is_deleted, source_position as position
    from changes
    where change <> 'gone'
    {%- if missing == "new_record" %}
    union all
    select {% for column in columns %}p.{{ column }}, {% endfor %}true as is_deleted, p.snapshot_row_id as position
    from changes as c
    join {{ history }} as p on p.snapshot_row_id = c.current_row_id
    where c.change = 'gone'
    {%- endif %}
),
closing as (
    select current_row_id from changes where current_row_id is not null
),
newest as (
    select coalesce(max(snapshot_row_id), 0) as row_id from {{ history }}
)
select
    h.snapshot_row_id,
    {%- for column in columns %}
    h.{{ column }},
    {%- endfor %}
    h.valid_from,
    case when x.current_row_id is null then h.valid_to else $taken_at end as valid_to,
    h.is_deleted,
    h.opened_by_run,
    case when x.current_row_id is null then h.closed_by_run else $run_id end as closed_by_run
from {{ history }} as h
left join closing as x on x.current_row_id = h.snapshot_row_id
union all
select
    n.row_id + row_number() over (order by o.is_deleted, o.position) as snapshot_row_id,
    {%- for column in columns %}
    o.{{ column }},
    {%- endfor %}
    $taken_at as valid_from,
    cast(null as timestamptz) as valid_to,
    o.is_deleted,
    $run_id as opened_by_run,
    cast(null as bigint) as closed_by_run
from opened as o
cross join newest as n
