-- merge: the event-time range of the model's rows the delta replaces (what downstream must redo).
select min(target.{{ event_time }}), max(target.{{ event_time }})
from {{ relation }} as target
where exists (
    select 1 from {{ delta }} as delta
    where {% for key in keys %}delta.{{ key }} = target.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
)
