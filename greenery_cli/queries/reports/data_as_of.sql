-- The newest record in any raw table (each table's own freshness column): "data as of".
select max(newest) as data_as_of
from (
{%- for table in tables %}
    select max({{ table.freshness_column }}) as newest from raw.{{ table.name }}
    {%- if not loop.last %} union all{% endif %}
{%- endfor %}
)
