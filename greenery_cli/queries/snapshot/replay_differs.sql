-- A replayed state whose moment the history already has: how many products its file gives another
-- state (presence, check columns) than the history holds at $taken_at. 0: the state is already in
-- the history and is skipped. Context: staged, compared, missing (ignore: absent means unchanged).
with held as (
    select *
    from snapshots.products_snapshot
    where valid_from <= $taken_at and (valid_to is null or valid_to > $taken_at) and not is_deleted
)
select count(*)
from {{ staged }} as s
{{ 'left' if missing == 'ignore' else 'full outer' }} join held as h on h.product_id = s.product_id
where s.product_id is null or h.product_id is null
{%- for column in compared %}
    or s.{{ column.quoted }} is distinct from h.{{ column.quoted }}
{%- endfor %}
