-- expression_is_true: the SQL expression holds on every row; one row per row where it does not.
{% from 'tests/generic/macros.sql' import tested %}
select *
from {{ tested(relation, where) }} as model
where not coalesce(({{ expression }}), false)
