-- unique_combination_of_columns: no two rows share the same values in all the columns; one row per repeated combination.
{% from 'tests/generic/macros.sql' import tested %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ tested(relation, where) }} as model
group by {{ columns | join(', ') }}
having count(*) > 1
order by occurrences desc
