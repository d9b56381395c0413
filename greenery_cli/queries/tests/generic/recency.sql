-- recency: the column's newest value is no older than `within` when the test runs; one row when it is (or the column is empty).
{% from 'tests/generic/macros.sql' import tested %}
select max({{ column }}) as newest, current_timestamp as checked_at
from {{ tested(relation, where) }} as model
having max({{ column }}) is null
    or max({{ column }}) < current_timestamp - to_seconds($within_seconds)
