-- Per pair of consecutive steps: median and p90 seconds between them in the counted attempts that made the later step.
{% include 'reports/funnel_attempts.sql' %}
{%- for k in range(1, n_steps) %}
select
    {{ k }} as from_step,
    {{ k + 1 }} as to_step,
    count(reached_{{ k + 1 }}) as units,
    quantile_cont(epoch(reached_{{ k + 1 }}) - epoch(reached_{{ k }}), 0.5) as median_seconds,
    quantile_cont(epoch(reached_{{ k + 1 }}) - epoch(reached_{{ k }}), 0.9) as p90_seconds
from counted_attempts
{{ 'union all' if not loop.last }}
{%- endfor %}
{%- if n_steps < 2 %}
select 1 as from_step, 2 as to_step, 0 as units, null::double as median_seconds, null::double as p90_seconds
from counted_attempts
where false
{%- endif %}
order by from_step
