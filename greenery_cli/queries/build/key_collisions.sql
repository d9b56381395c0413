-- append: delta rows whose unique key the model already holds (up to 5).
select {% for key in keys %}delta.{{ key }}{{ ', ' if not loop.last }}{% endfor %}
from {{ delta }} as delta
where exists (
    select 1 from {{ relation }} as target
    where {% for key in keys %}delta.{{ key }} = target.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
)
limit 5
