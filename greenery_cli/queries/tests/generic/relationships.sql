-- relationships: every non-empty value of the column exists in the parent's field; one row per orphan row.
{% from 'tests/generic/macros.sql' import tested %}
select child.*
from {{ tested(relation, where) }} as child
where child.{{ column }} is not null
  and not exists (
      select 1 from {{ parent }} as parent where parent.{{ field }} = child.{{ column }}
  )
