-- One row per product in the catalogue, with its current inventory.
select
    product_id,
    name as product_name,
    price as price_usd,
    inventory
from {{ source('products') }}
