-- The columns the source added to the history and the run that added each: on Spark, a table
-- beside each generation, what DuckDB keeps in the columns' comments ('added by snapshot run N').
-- Context: count (how many). Values: $column_0, $added_by_0, $column_1, ...
{%- for i in range(count) %}
{% if not loop.first %}union all
{% endif -%}
select cast($column_{{ i }} as varchar) as column_name, cast($added_by_{{ i }} as bigint) as added_by_run
{%- endfor %}
