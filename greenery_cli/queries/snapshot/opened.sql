-- The versions this run opens, numbered after the newest row in source order (tombstones last): new values from the
-- source, tombstones from the closed version.
create or replace temp table snapshot_opened as
with opened as (
    select unnest(c.source_row), false as is_deleted, c.change, c.source_position as position
    from snapshot_changes as c
    where c.change <> 'gone'
    {%- if missing == "new_record" %}
    union all by name
    select {% for column in tombstone_columns %}p.{{ column }}, {% endfor %}true as is_deleted, c.change, p.snapshot_row_id as position
    from snapshot_changes as c
    join snapshots.products_snapshot as p on p.snapshot_row_id = c.current_row_id
    where c.change = 'gone'
    {%- endif %}
)
select
    $first_row_id + row_number() over (order by is_deleted, position) - 1 as snapshot_row_id,
    * exclude (position)
from opened
