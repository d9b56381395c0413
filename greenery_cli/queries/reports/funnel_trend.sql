-- The funnel per period of entry: units counted in the day/week their counted attempt entered.
{% include 'reports/funnel_attempts.sql' %}
select
    date_trunc($period, entered_at) as period_start
    {%- for k in range(1, n_steps + 1) %},
    count(*) filter (where level >= {{ k }}) as step_{{ k }}
    {%- endfor %}
from counted_attempts
group by period_start
order by period_start
