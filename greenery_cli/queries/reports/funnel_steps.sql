-- the funnel's steps from the seed; the marts every funnel question reads are named too (reading
-- nothing), so that a missing one fails here, before a question reads it
select step, event_type, label
from seeds.funnel_steps
where
    true
{%- for mart in marts %}
    and not exists (select 1 from marts.{{ mart }} where false)
{%- endfor %}
order by step
