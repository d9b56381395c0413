-- The rewind guard, first and cheap: the earlier snapshot runs at which at least $min_products of
-- the products this run changes (snapshot_changes) held exactly the state the source now gives them
-- (present or not, and the check columns), while the latest run holds another. Counted by a sweep
-- over those products' stretches of history, so the cost does not grow with runs x products.
-- Context: compared (the check columns). Values: $min_products. Newest first.
-- Open ends are the years 1 and 9999 (the range greenery accepts), not +-infinity: Spark has none.
{%- macro state(row) -%}
{% if compared %}{{ '{' }}{% for column in compared %}'c{{ loop.index }}': {{ row }}.{{ column.quoted }}{{ ', ' if not loop.last }}{% endfor %}{{ '}' }}{% else %}null{% endif %}
{%- endmacro %}
with source_states as (
    select product_id, change <> 'gone' as present, {{ state('c.source_row') }} as state
    from snapshot_changes as c
),
versions as (
    select
        p.product_id, p.valid_from, p.valid_to, not p.is_deleted as present,
        {{ state('p') }} as state,
        lead(p.valid_from) over (partition by p.product_id order by p.valid_from, p.snapshot_row_id)
            as next_from
    from snapshots.products_snapshot as p
    semi join source_states as s on s.product_id = p.product_id
),
{% include 'snapshot/_rewind_stretches.sql' %}
-- the stretches in which a changed product held its source state, unlike now
returned as (
    select t.starts, t.ends
    from stretches as t
    join source_states as s using (product_id)
    join now_states as n using (product_id)
    where t.present = s.present and (not s.present or t.state is not distinct from s.state)
        and not (n.present = s.present and (not s.present or n.state is not distinct from s.state))
),
deltas as (
    select moment, sum(delta) as delta
    from (
        select starts as moment, 1 as delta from returned
        union all
        select ends, -1 from returned
    )
    group by moment
),
-- each run's moment in the same sweep, after the deltas at its moment: the products covered then
sweep as (
    select moment, delta, null as snapshot_run_id, 0 as is_run from deltas
    union all
    select taken_at, 0, snapshot_run_id, 1 from snapshots.snapshot_runs
),
coverage as (
    select
        snapshot_run_id,
        is_run,
        moment as taken_at,
        sum(delta) over (order by moment, is_run rows unbounded preceding) as products
    from sweep
)
select snapshot_run_id, taken_at, products
from coverage
where is_run = 1 and products >= $min_products
    and taken_at < (select max(taken_at) from snapshots.snapshot_runs)
order by taken_at desc, snapshot_run_id desc
