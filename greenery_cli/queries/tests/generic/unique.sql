-- unique: every value of the column appears once (NULLs are not_null's business); one row per repeated value.
{% from 'tests/generic/macros.sql' import tested %}
select {{ column }} as value, count(*) as occurrences
from {{ tested(relation, where) }} as model
where {{ column }} is not null
group by {{ column }}
having count(*) > 1
order by occurrences desc, value
