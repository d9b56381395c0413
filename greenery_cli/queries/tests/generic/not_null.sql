-- not_null: the column is never empty; one row per row with an empty value.
{% from 'tests/generic/macros.sql' import tested %}
select *
from {{ tested(relation, where) }} as model
where {{ column }} is null
