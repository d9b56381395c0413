-- The funnel per value of one unit property (reports/funnel_properties.sql), read at each unit's counted attempt.
-- Context as reports/funnel_attempts.sql, plus property (a macro name of reports/funnel_properties.sql).
{%- import 'reports/funnel_properties.sql' as properties %}
{% include 'reports/funnel_attempts.sql' %},
valued as (
    select c.level, {{ properties[property]() }} as value
    from counted_attempts as c
    left join marts.dim_users as u on u.user_id = c.entry_user_id
)
select
    value::varchar as value
    {%- for k in range(1, n_steps + 1) %},
    count(*) filter (where level >= {{ k }}) as step_{{ k }}
    {%- endfor %}
from valued
group by value
order by step_1 desc, value nulls last
