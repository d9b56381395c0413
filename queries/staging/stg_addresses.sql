-- One row per shipping address, as exported; zipcodes keep their leading zeros as text.
select
    address_id,
    address,
    lpad(cast(zipcode as varchar), 5, '0') as zipcode,
    state,
    country
from {{ source('addresses') }}
