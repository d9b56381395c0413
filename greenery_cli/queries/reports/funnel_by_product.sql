-- Per product: how many units reached each step for it (a checkout counts for the products in its order).
{% include 'reports/funnel_reach.sql' %},
per_product as (
    select
        product_id
        {%- for k in range(1, n_steps + 1) %},
        count(reached_{{ k }}) as step_{{ k }}
        {%- endfor %}
    from reach
    group by product_id
)
select
    p.product_id,
    p.product_name as name
    {%- for k in range(1, n_steps + 1) %},
    coalesce(pp.step_{{ k }}, 0) as step_{{ k }}
    {%- endfor %}
from marts.dim_products as p
left join per_product as pp using (product_id)
order by step_1 desc, p.product_name, p.product_id
