-- Up to 5 keys a relation holds more than once, with their counts, in key order. Found through the
-- keys' 64-bit hashes first: sorting integers costs half of grouping 3M string keys, and only rows
-- whose hash repeats are then grouped by the key itself, so a hash collision is never reported.
-- Context: keys (column names), relation.
with repeated as (
    select distinct h
    from (select hash({{ keys | join(', ') }}) as h from {{ relation }})
    qualify h = lag(h) over (order by h)
)
select {{ keys | join(', ') }}, count(*)
from {{ relation }}
where hash({{ keys | join(', ') }}) in (select h from repeated)
group by all
having count(*) > 1
order by all
limit 5
