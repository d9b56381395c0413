-- An order's total is its items' cost plus shipping less its promo's discount (to the cent).
select o.order_id, o.order_cost_usd, o.shipping_cost_usd, p.discount_usd, o.order_total_usd
from {{ ref('stg_orders') }} as o
left join {{ ref('stg_promos') }} as p using (promo_id)
where abs(o.order_cost_usd + o.shipping_cost_usd - coalesce(p.discount_usd, 0) - o.order_total_usd) >= 0.005
