-- Every product's inventory in every week (what is left after the week's sales since the
-- last restock). Most products stay steady; n_changing sell and get
-- restocked most weeks; n_stockout do the same but hit zero in one week (2..weeks-1) and are
-- restocked the week after. A product's class comes from an affine permutation (exact counts).
create or replace temp table inventory_states as
with classed as (
    select
        p,
        product_first_inventory(p) as first_inventory,
        (p * getvariable('product_a') + getvariable('product_b')) % getvariable('n_products') as pos,
        case when pos < getvariable('n_stockout') then 'stockout'
             when pos < getvariable('n_stockout') + getvariable('n_changing') then 'changing'
             else 'steady' end as kind,
        2 + pick(greatest(getvariable('weeks') - 2, 1), 'zero_week', p, 0) as zero_week
    from range(getvariable('n_products')) as t(p)
),
moves as (
    select
        p, w, first_inventory,
        case when w = 1 or kind = 'steady' then 'none'
             when kind = 'stockout' and w = zero_week then 'zero'
             when kind = 'stockout' and w = zero_week + 1 then 'restock'
             when u01('inventory_move', p, w) < 0.15 then 'restock'
             when u01('inventory_move', p, w) < 0.30 then 'none'
             else 'sale' end as move
    from classed, range(1, getvariable('weeks') + 1) as weeks(w)
),
amounts as (
    select
        p, w,
        -- a sale week sells 10-45% of what is on the shelf
        case when move = 'sale' then ln(1 - (0.1 + 0.35 * u01('sold', p, w))) else 0 end
            as log_kept,
        case when w = 1 then first_inventory
             when move = 'zero' then 0
             when move = 'restock'
             then round(first_inventory * (0.5 + 0.6 * u01('restocked', p, w)))::integer
             end as reset_to
    from moves
),
segmented as (
    select *, count(reset_to) over (partition by p order by w) as segment from amounts
),
running as (
    select
        p, w,
        first_value(reset_to) over segment_so_far as base,
        sum(log_kept) over segment_so_far as log_kept_since
    from segmented
    window segment_so_far as (
        partition by p, segment order by w rows between unbounded preceding and current row
    )
)
select
    p,
    w as week,
    case when base = 0 then 0 else greatest(round(base * exp(log_kept_since)), 1) end::integer
        as inventory
from running
