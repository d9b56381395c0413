-- How many units reached each step of the funnel (one row per step).
{% include 'reports/funnel_reach.sql' %}
select
    unnest(range(1, {{ n_steps + 1 }})) as step,
    unnest([{% for k in range(1, n_steps + 1) %}count(reached_{{ k }}){{ ', ' if not loop.last }}{% endfor %}]) as count
from reach
