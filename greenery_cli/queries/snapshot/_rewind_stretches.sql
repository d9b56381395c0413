-- A fragment (the leading _), included by rewind_candidates.sql and rewind_match.sql after their
-- CTE `versions` (product_id, valid_from, valid_to, present, state, next_from): every stretch of a
-- product's history (its versions, the time before its first version and any gap after a version
-- closed with no successor, both absent) and each product's state now. Open ends: years 1, 9999.
stretches as (
    select product_id, valid_from as starts, coalesce(valid_to, '9999-12-31 00:00:00+00'::timestamptz) as ends, present, state
    from versions
    union all
    select product_id, '0001-01-01 00:00:00+00'::timestamptz, min(valid_from), false, null
    from versions
    group by product_id
    union all
    select product_id, valid_to, coalesce(next_from, '9999-12-31 00:00:00+00'::timestamptz), false, null
    from versions
    where valid_to is not null and (next_from is null or valid_to < next_from)
),
now_states as (
    select product_id, present, state from stretches where ends = '9999-12-31 00:00:00+00'::timestamptz
),
