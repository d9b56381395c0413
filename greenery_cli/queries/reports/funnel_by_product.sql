-- Per product: units reaching each step for it (a checkout counts for the products in its order) and,
-- from the snapshot history, how many counted attempts entered while the product was out of stock
-- (inventory <= 0) or in stock, and how many of each got through; entries the history does not cover
-- (before its first run, or while the product was absent) count as unknown.
-- Context as reports/funnel_attempts.sql, plus with_stock (the snapshot tables exist).
-- Open ends are the years 1 and 9999 (the range greenery accepts), not +-infinity: Spark has none.
{% include 'reports/funnel_attempts.sql' %},
{%- if with_stock %}
-- the stretches in which a product was not in stock: out (a version at inventory <= 0) or unknown
-- (a tombstone, a NULL inventory, before its first version, a gap after a version closed with no
-- successor); few, since stock-outs are rare, so each entry joins a handful at most. Any other
-- moment of a product the history knows is in stock.
history as (
    select product_id, valid_from, valid_to, inventory, is_deleted
    from snapshots.products_snapshot
),
-- a version closed with no successor at that moment (--missing invalidate)
gaps as (
    select h.product_id, h.valid_to
    from history as h
    anti join history as s on s.product_id = h.product_id and s.valid_from = h.valid_to
    where h.valid_to is not null
),
not_in_stock as (
    select product_id, valid_from as starts, coalesce(valid_to, '9999-12-31 00:00:00+00'::timestamptz) as ends,
        case when not is_deleted and inventory <= 0 then 'out' end as stock
    from history
    where is_deleted or inventory is null or inventory <= 0
    union all
    select product_id, '0001-01-01 00:00:00+00'::timestamptz, min(valid_from), null
    from history
    group by product_id
    union all
    select g.product_id, g.valid_to, coalesce(min(n.valid_from), '9999-12-31 00:00:00+00'::timestamptz), null
    from gaps as g
    left join history as n on n.product_id = g.product_id and n.valid_from > g.valid_to
    group by g.product_id, g.valid_to
),
stocked as (
    select
        c.product_id,
        c.level,
        c.entered_at,
        -- a product the history never saw is unknown throughout: per_product says so
        case when n.product_id is null then 'in' else n.stock end as stock
    from counted_attempts as c
    left join not_in_stock as n
        on n.product_id = c.product_id and n.starts <= c.entered_at and c.entered_at < n.ends
),
known as (
    select distinct product_id from history
),
{%- endif %}
per_product as (
    select
        product_id
        {%- for k in range(1, n_steps + 1) %},
        count(*) filter (where level >= {{ k }}) as step_{{ k }}
        {%- endfor %}
        {%- if with_stock %},
        count(*) filter (where stock = 'out') as viewed_out_of_stock,
        count(*) filter (where stock = 'out' and level >= {{ n_steps }}) as converted_out_of_stock,
        count(*) filter (where stock = 'in') as viewed_in_stock,
        count(*) filter (where stock = 'in' and level >= {{ n_steps }}) as converted_in_stock,
        count(*) filter (where stock is null) as viewed_stock_unknown,
        min(entered_at) as first_entry,
        max(entered_at) as last_entry
        {%- endif %}
    from {{ 'stocked' if with_stock else 'counted' }}
    group by product_id
)
select
    p.product_id,
    p.product_name as name
    {%- for k in range(1, n_steps + 1) %},
    coalesce(pp.step_{{ k }}, 0) as step_{{ k }}
    {%- endfor %}
    {%- if with_stock %},
    case when k.product_id is null then 0 else coalesce(pp.viewed_out_of_stock, 0) end
        as viewed_out_of_stock,
    case when k.product_id is null then 0 else coalesce(pp.converted_out_of_stock, 0) end
        as converted_out_of_stock,
    case when k.product_id is null then 0 else coalesce(pp.viewed_in_stock, 0) end
        as viewed_in_stock,
    case when k.product_id is null then 0 else coalesce(pp.converted_in_stock, 0) end
        as converted_in_stock,
    case when k.product_id is null then coalesce(pp.step_1, 0)
        else coalesce(pp.viewed_stock_unknown, 0) end as viewed_stock_unknown,
    pp.first_entry,
    pp.last_entry
    {%- endif %}
from marts.dim_products as p
left join per_product as pp using (product_id)
{%- if with_stock %}
left join known as k using (product_id)
{%- endif %}
order by step_1 desc, p.product_name, p.product_id
