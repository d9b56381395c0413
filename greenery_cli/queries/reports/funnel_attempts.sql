-- Shared by the funnel reports: every attempt of every unit (and product, for --by product), and
-- per unit its counted attempt (docs/funnel.md, "What is counted").
-- An attempt enters at a step-1 event with $since <= time < $until (entry 'first': only the unit's
-- first); it reaches the later steps that follow the order mode within $window_seconds of entering.
-- A unit reached step k if some attempt did; its counted attempt is the one that went furthest, the
-- earliest of those ("earliest, longest"), which trends, breakdowns, lists and times read.
-- Context: engine (buckets|chain|strict, chosen by funnel.py), mode (any|ordered|strict), entry
-- (every|first), unit_column (session_id|user_id), run_column (session_run|user_run), by_product,
-- n_steps, has_since, has_until, need (level|time|entry|times: what a report reads of the counted
-- attempt), stage_exclusions (list of (stage, [parameter names]) for --exclude). Values:
-- $window_seconds, $since, $until, and one $exclude_N (an event type) per --exclude.
-- Output: CTE `counted`: unit_id[, product_id] and level (the furthest step reached); unless need
-- is 'level', CTE `counted_attempts` adds the counted attempt's entered_at, and for 'entry' and
-- 'times' its entry_event_id, entry_session_id and entry_user_id ('times': and reached_1..n, its
-- time at each step it reached). Only what is needed is carried: the aggregate picking the counted
-- attempt is the costly part of a report.
{%- set keys = ['unit_id', 'product_id'] if by_product else ['unit_id'] %}
{%- set key_list = keys | join(', ') %}
{%- set with_entry = need in ('entry', 'times') %}
{#- the entering event's other id: its user in a session funnel, its session in a user funnel #}
{%- set other_column = 'user_id' if unit_column == 'session_id' else 'session_id' %}
{%- macro same_unit(a, b) -%}
{% for key in keys %}{{ ' and ' if not loop.first }}{{ a }}.{{ key }} = {{ b }}.{{ key }}{% endfor %}
{%- endmacro %}
{%- macro entering_range() -%}
{% if has_since %} and created_at_utc >= $since{% endif %}{% if has_until %} and created_at_utc < $until{% endif %}
{%- endmacro %}
{%- macro entry_columns(prefix='') -%}
{%- if with_entry %}, {{ prefix }}entry_event_id, {{ prefix }}entry_other_id{% endif %}
{%- endmacro %}
with
{%- if engine == 'strict' %}
{% include 'reports/funnel_attempts_strict.sql' %}
{%- else %}
funnel_events as not materialized (
    select
        {{ unit_column }} as unit_id,{% if by_product %} product_id,{% endif %} created_at_utc, step
        {%- if with_entry %}, event_id, {{ other_column }}{% endif %}
    from {{ 'marts.fct_product_funnel_events' if by_product else 'marts.fct_funnel_events' }}
    where {{ unit_column }} is not null
),
{%- set chained = engine == 'chain' %}
{%- if chained %}
-- each event with the first step-k event at or after it (k > 1): a running min over the unit's
-- events, newest first (at one moment, higher steps first): one sort, never pairs of events
stepped as (
    select
        *
        {%- for k in range(2, n_steps + 1) %},
        min(case when step = {{ k }} then created_at_utc end) over (
            partition by {{ key_list }} order by created_at_utc desc, step desc
            rows between unbounded preceding and current row
        ) as next_{{ k }}
        {%- endfor %}
    from funnel_events
),
{%- endif %}
entries as (
    {%- if entry == 'first' %}
    -- only the unit's first step-1 event in range (then the lower event_id): an aggregate, no sort
    select
        {{ key_list }},
        min(created_at_utc) as entered_at
        {%- if with_entry %},
        arg_min(event_id, (created_at_utc, event_id)) as entry_event_id,
        arg_min({{ other_column }}, (created_at_utc, event_id)) as entry_other_id
        {%- endif %}
        {%- if chained %}{% for k in range(2, n_steps + 1) %},
        -- the first entry's: next_k never decreases with time
        min(next_{{ k }}) as next_{{ k }}
        {%- endfor %}{% endif %}
    from {{ 'stepped' if chained else 'funnel_events' }}
    where step = 1{{ entering_range() }}
    group by {{ key_list }}
    {%- else %}
    select
        {{ key_list }},
        created_at_utc as entered_at
        {%- if with_entry %},
        event_id as entry_event_id,
        {{ other_column }} as entry_other_id
        {%- endif %}
        {%- if chained %}{% for k in range(2, n_steps + 1) %}, next_{{ k }}{% endfor %}{% endif %}
    from {{ 'stepped' if chained else 'funnel_events' }}
    where step = 1{{ entering_range() }}
    {%- endif %}
),
{%- if engine == 'buckets' %}
{% include 'reports/funnel_attempts_buckets.sql' %}
{%- else %}
{% include 'reports/funnel_attempts_chain.sql' %}
{%- endif %}
{%- endif %}
counted as (
    select
        {{ key_list }},
        max(level) as level
        {%- if need == 'time' %},
        -- the counted attempt: furthest first, then earliest
        arg_min(entered_at, (-level, entered_at)) as entered_at
        {%- elif with_entry %},
        -- the counted attempt: furthest first, then earliest (then by event, for a same-second tie)
        arg_min(
            {'entered_at': entered_at, 'entry_event_id': entry_event_id, 'entry_other_id': entry_other_id
             {%- if need == 'times' %}{% for k in range(1, n_steps + 1) %}, 'reached_{{ k }}': reached_{{ k }}{% endfor %}{% endif %}},
            (-level, entered_at, entry_event_id)
        ) as attempt
        {%- endif %}
    from attempts
    group by {{ key_list }}
)
{%- if need == 'time' %},
counted_attempts as (
    select {{ key_list }}, level, entered_at from counted
)
{%- elif with_entry %},
counted_attempts as (
    select
        {{ key_list }},
        level,
        attempt.entered_at,
        attempt.entry_event_id,
        {{ 'unit_id' if other_column == 'user_id' else 'attempt.entry_other_id' }} as entry_session_id,
        {{ 'attempt.entry_other_id' if other_column == 'user_id' else 'unit_id' }} as entry_user_id
        {%- if need == 'times' %}{% for k in range(1, n_steps + 1) %},
        attempt.reached_{{ k }}
        {%- endfor %}{% endif %}
    from counted
)
{%- endif %}
