-- The event-time range of a relation's rows, their count, and how many have no event time;
-- with bounds: how many fall outside [$new_data_start, $new_data_end].
select
    min({{ event_time }}),
    max({{ event_time }}),
    count(*),
    count(*) filter (where {{ event_time }} is null)
    {%- if bounded %},
    count(*) filter (where {{ event_time }} < $new_data_start or {{ event_time }} > $new_data_end)
    {%- endif %}
from {{ relation }}
