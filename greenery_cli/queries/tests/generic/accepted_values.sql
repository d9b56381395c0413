-- accepted_values: the column holds only the declared values (compared as text); one row per other value.
{% from 'tests/generic/macros.sql' import tested %}
select cast({{ column }} as varchar) as value, count(*) as occurrences
from {{ tested(relation, where) }} as model
where {{ column }} is not null
  and cast({{ column }} as varchar) not in (select unnest(cast($accepted_values as varchar[])))
group by all
order by occurrences desc, value
