-- Addresses with the state's two-letter code and Census region, from the us_states seed.
select
    a.address_id,
    a.address,
    a.zipcode,
    a.state,
    s.state_code,
    s.region,
    a.country
from {{ ref('stg_addresses') }} as a
left join {{ seed('us_states') }} as s on s.state_name = a.state
