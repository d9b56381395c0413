{#- Helpers shared by the generic tests. -#}
{% macro tested(relation, where) -%}
{%- if where -%}(select * from {{ relation }} where {{ where }}){%- else -%}{{ relation }}{%- endif -%}
{%- endmacro %}
