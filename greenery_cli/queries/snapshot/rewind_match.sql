-- The rewind guard, second and only when rewind_candidates.sql found candidates: of the candidate
-- runs (temp table rewind_candidates), the newest at which EVERY product whose state differs from
-- the latest run's holds exactly its state in the source, and a few of those products by name.
-- A stretch of any product's history that holds neither its latest state nor its source state
-- blocks the runs inside it. Context: compared (the check columns).
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
        p.product_id, p.name, p.valid_from, p.valid_to, not p.is_deleted as present,
        {{ state('p') }} as state,
        lead(p.valid_from) over (partition by p.product_id order by p.valid_from, p.snapshot_row_id)
            as next_from
    from snapshots.products_snapshot as p
),
{% include 'snapshot/_rewind_stretches.sql' %}
judged as (
    select
        t.product_id, t.starts, t.ends,
        t.present = n.present and (not n.present or t.state is not distinct from n.state) as is_now,
        coalesce(t.present = s.present and (not s.present or t.state is not distinct from s.state), false)
            as is_source
    from stretches as t
    join now_states as n using (product_id)
    left join source_states as s using (product_id)
),
blocked as (
    select distinct c.snapshot_run_id
    from rewind_candidates as c
    join judged as j on j.starts <= c.taken_at and c.taken_at < j.ends
    where not j.is_now and not j.is_source
),
returned as (
    select c.snapshot_run_id, c.taken_at, j.product_id
    from rewind_candidates as c
    join judged as j on j.starts <= c.taken_at and c.taken_at < j.ends
    where j.is_source and not j.is_now
)
select
    r.snapshot_run_id,
    r.taken_at,
    count(*) as products,
    -- array_slice, not [1:3]: x[a:b] is no Spark syntax (sqlglot leaves it as it is)
    array_slice(list(coalesce(n.name, r.product_id) order by coalesce(n.name, r.product_id)), 1, 3) as examples
from returned as r
left join (select product_id, arg_max(name, valid_from) as name from versions group by product_id) as n
    using (product_id)
where r.snapshot_run_id not in (select snapshot_run_id from blocked)
group by r.snapshot_run_id, r.taken_at
order by r.taken_at desc, r.snapshot_run_id desc
limit 1
