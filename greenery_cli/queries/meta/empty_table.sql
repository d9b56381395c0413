-- A run-log table's columns and types, with no rows (Spark creates its meta tables from this).
select
{% for column, type in columns.items() %}    cast(null as {{ type }}) as {{ column }}{% if not loop.last %},{% endif %}
{% endfor %}where 1 = 0
