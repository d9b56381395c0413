-- Shared by the funnel reports: per unit (and product, for --by product), when it entered the funnel and when it reached each step.
-- Context: mode (any|ordered|strict), unit_column (session_id|user_id), run_column (session_run|user_run),
-- by_product, n_steps, has_since, has_until. Values: $window_seconds, $since, $until.
{%- set keys = 'unit_id, product_id' if by_product else 'unit_id' %}
{%- macro same_unit(a, b) -%}
{{ a }}.unit_id = {{ b }}.unit_id{% if by_product %} and {{ a }}.product_id = {{ b }}.product_id{% endif %}
{%- endmacro %}
{%- macro entering_range() -%}
{% if has_since %} and created_at_utc >= $since{% endif %}{% if has_until %} and created_at_utc < $until{% endif %}
{%- endmacro %}
with
{%- if mode == 'strict' %}
path as not materialized (
    select {{ unit_column }} as unit_id, {{ run_column }} as run_no, created_at_utc, step
    from marts.fct_event_path
    where {{ unit_column }} is not null
),
-- the entering event is the unit's first step-1 event in range; run numbers rise with time
entries as (
    select
        unit_id,
        min(created_at_utc) as entered_at,
        min(created_at_utc) + to_seconds($window_seconds) as deadline,
        min(run_no) as entry_run
    from path
    where step = 1{{ entering_range() }}
    group by unit_id
),
-- a run of step k sits k - 1 runs after the entry run exactly when run_no - step = entry_run - 1
runs as (
    select unit_id, run_no - step as chain_key, step, min(created_at_utc) as first_at
    from path
    where step > 1
    group by unit_id, run_no, step
),
chain as (
    select
        e.unit_id,
        e.entered_at
        {%- for k in range(2, n_steps + 1) %},
        min(r.first_at) filter (where r.step = {{ k }}) as first_{{ k }}
        {%- endfor %}
    from entries as e
    left join runs as r
        on r.unit_id = e.unit_id and r.chain_key = e.entry_run - 1 and r.first_at <= e.deadline
    group by e.unit_id, e.entered_at
),
{%- else %}
funnel_events as not materialized (
    select {{ unit_column }} as unit_id,{% if by_product %} product_id,{% endif %} created_at_utc, step
    from {{ 'marts.fct_product_funnel_events' if by_product else 'marts.fct_funnel_events' }}
    where {{ unit_column }} is not null
),
entries as (
    select
        {{ keys }},
        min(created_at_utc) as entered_at,
        min(created_at_utc) + to_seconds($window_seconds) as deadline
    from funnel_events
    where step = 1{{ entering_range() }}
    group by {{ keys }}
),
{%- if mode == 'any' %}
-- any order: the first event of each later step at or after entering, inside the window
chain as (
    select
        {% for key in keys.split(', ') %}e.{{ key }}, {% endfor %}e.entered_at
        {%- for k in range(2, n_steps + 1) %},
        min(f.created_at_utc) filter (where f.step = {{ k }}) as first_{{ k }}
        {%- endfor %}
    from entries as e
    left join funnel_events as f
        on {{ same_unit('f', 'e') }} and f.step > 1
        and f.created_at_utc >= e.entered_at and f.created_at_utc <= e.deadline
    group by {% for key in keys.split(', ') %}e.{{ key }}, {% endfor %}e.entered_at
),
{%- else %}
-- ordered: each step's first event at or after the previous step's, inside the window
chain_1 as (
    select {{ keys }}, entered_at, deadline, entered_at as first_1 from entries
),
{%- for k in range(2, n_steps + 1) %}
{%- set carried %}{% for key in keys.split(', ') %}c.{{ key }}, {% endfor %}c.entered_at, c.deadline{% for j in range(1, k) %}, c.first_{{ j }}{% endfor %}{% endset %}
chain_{{ k }} as (
    select {{ carried }}, min(f.created_at_utc) as first_{{ k }}
    from chain_{{ k - 1 }} as c
    left join funnel_events as f
        on {{ same_unit('f', 'c') }} and f.step = {{ k }}
        and f.created_at_utc >= c.first_{{ k - 1 }} and f.created_at_utc <= c.deadline
    group by {{ carried }}
),
{%- endfor %}
chain as (select * from chain_{{ n_steps }}),
{%- endif %}
{%- endif %}
-- a step counts only when every earlier step was reached
reach as (
    select
        {{ keys }},
        entered_at,
        entered_at as reached_1
        {%- for k in range(2, n_steps + 1) %},
        case when reached_{{ k - 1 }} is not null then first_{{ k }} end as reached_{{ k }}
        {%- endfor %}
    from chain
)
