-- The unique key's problems in a relation: up to 5 keys that are empty or repeated.
select {{ keys | join(', ') }}, count(*) as occurrences
from {{ relation }}
group by all
having count(*) > 1 or {% for key in keys %}{{ key }} is null{{ ' or ' if not loop.last }}{% endfor %}
order by occurrences desc
limit 5
