-- Per product: units reaching each step for it (a checkout counts for the products in its order) and,
-- from the snapshot history, how many counted attempts entered while the product was out of stock
-- (inventory <= 0) or in stock, and how many of each got through; entries the history does not cover
-- (before its first run, or while the product was absent) count as unknown.
-- Context as reports/funnel_attempts.sql, plus with_stock (the snapshot tables exist).
{% include 'reports/funnel_attempts.sql' %},
{%- if with_stock %}
stocked as (
    select
        c.product_id,
        c.level,
        c.entered_at,
        case
            when v.valid_to is not null and c.entered_at >= v.valid_to then null
            when v.is_deleted then null
            when v.inventory <= 0 then 'out'
            when v.inventory > 0 then 'in'
        end as stock
    from counted_attempts as c
    asof left join snapshots.products_snapshot as v
        on v.product_id = c.product_id and v.valid_from <= c.entered_at
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
    coalesce(pp.viewed_out_of_stock, 0) as viewed_out_of_stock,
    coalesce(pp.converted_out_of_stock, 0) as converted_out_of_stock,
    coalesce(pp.viewed_in_stock, 0) as viewed_in_stock,
    coalesce(pp.converted_in_stock, 0) as converted_in_stock,
    coalesce(pp.viewed_stock_unknown, 0) as viewed_stock_unknown,
    pp.first_entry,
    pp.last_entry
    {%- endif %}
from marts.dim_products as p
left join per_product as pp using (product_id)
order by step_1 desc, p.product_name, p.product_id
