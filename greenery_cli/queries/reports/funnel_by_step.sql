-- How many units reached each step of the funnel (one row per step): units whose furthest attempt got there.
{% include 'reports/funnel_attempts.sql' %}
select
    unnest(range(1, {{ n_steps + 1 }})) as step,
    unnest([{% for k in range(1, n_steps + 1) %}count(*) filter (where level >= {{ k }}){{ ', ' if not loop.last }}{% endfor %}]) as count
from counted
