-- The funnel per period of entry: units counted in the day/week their entering event fell in.
{% include 'reports/funnel_reach.sql' %}
select
    date_trunc($period, entered_at) as period_start
    {%- for k in range(1, n_steps + 1) %},
    count(reached_{{ k }}) as step_{{ k }}
    {%- endfor %}
from reach
group by period_start
order by period_start
