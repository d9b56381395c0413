-- equal_rowcount: the model has as many rows as the other relation (`where` filters the model, `to_where` the other); one row when they differ.
{% from 'tests/generic/macros.sql' import tested %}
select counted.rows, compared.rows as other_rows
from (select count(*) as rows from {{ tested(relation, where) }} as model) as counted,
     (select count(*) as rows from {{ tested(other, to_where) }} as other) as compared
where counted.rows <> compared.rows
