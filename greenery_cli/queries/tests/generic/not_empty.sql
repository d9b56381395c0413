-- not_empty: the model has at least one row (where given, one matching it); one row when it has none.
{% from 'tests/generic/macros.sql' import tested %}
select count(*) as rows
from {{ tested(relation, where) }} as model
having count(*) = 0
