-- Rows appended to a run-log table (on Spark a Parquet table only grows), values bound by name.
insert into meta.{{ table }} ({{ columns | join(', ') }})
values
{% for row in range(rows) %}{% if not loop.first %},
{% endif %}    ({% for column in columns %}{% if not loop.first %}, {% endif %}$v{{ row }}_{{ loop.index0 }}{% endfor %}){% endfor %}
