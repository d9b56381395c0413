-- One row per customer, with where they live and how much they have ordered.
with order_stats as (
    select user_id, count(*) as orders, sum(order_total_usd) as lifetime_value_usd,
           min(created_at_utc) as first_order_at_utc, max(created_at_utc) as last_order_at_utc
    from {{ ref('stg_orders') }}
    group by user_id
)
select
    u.*,
    g.state,
    g.state_code,
    g.region,
    coalesce(s.orders, 0) as orders,
    coalesce(s.lifetime_value_usd, 0) as lifetime_value_usd,
    s.first_order_at_utc,
    s.last_order_at_utc
from {{ ref('stg_users') }} as u
left join {{ ref('int_addresses_geo') }} as g on g.address_id = u.address_id
left join order_stats as s on s.user_id = u.user_id
