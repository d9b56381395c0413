{#- Modes any and ordered, with step times and exclusions: each attempt's step events found by
    ASOF joins (the first step-k event at or after entering, in mode any, or after the step-(k-1)
    event, in mode ordered), so a unit with many attempts costs a sort, never pairs of events. -#}
{%- for k in range(2, n_steps + 1) %}
step_{{ k }}_events as (
    select {{ key_list }}, created_at_utc from funnel_events where step = {{ k }}
),
{%- endfor %}
chain as (
    select
        {% for key in keys %}e.{{ key }}, {% endfor %}e.entered_at{{ entry_columns('e.') }},
        e.entered_at + to_seconds($window_seconds) as deadline,
        e.entered_at as at_1
        {%- for k in range(2, n_steps + 1) %},
        s{{ k }}.created_at_utc as at_{{ k }}
        {%- endfor %}
    from entries as e
    {%- for k in range(2, n_steps + 1) %}
    asof left join step_{{ k }}_events as s{{ k }}
        on {{ same_unit('s%d' % k, 'e') }}
        and s{{ k }}.created_at_utc >= {{ 'e.entered_at' if mode == 'any' or k == 2 else 's%d.created_at_utc' % (k - 1) }}
    {%- endfor %}
),
{%- if stage_exclusions %}
-- exclusions: the moment each stage was complete (any: the latest of its steps' events)
staged as (
    select
        *
        {%- for stage, _names in stage_exclusions %},
        {% if mode == 'any' %}greatest({% for j in range(1, stage + 1) %}at_{{ j }}{{ ', ' if not loop.last }}{% endfor %}){% else %}at_{{ stage }}{% endif %} as complete_{{ stage }}
        {%- endfor %}
    from chain
),
{%- for stage, names in stage_exclusions %}
excluded_{{ stage }} as (
    select {{ unit_column }} as unit_id, created_at_utc
    from marts.fct_event_path
    where {{ unit_column }} is not null
        and event_type in ({% for name in names %}${{ name }}{{ ', ' if not loop.last }}{% endfor %})
),
{%- endfor %}
blocked as (
    select
        c.*
        {%- for stage, _names in stage_exclusions %},
        coalesce(x{{ stage }}.created_at_utc < c.at_{{ stage + 1 }}, false) as blocked_{{ stage }}
        {%- endfor %}
    from staged as c
    {%- for stage, _names in stage_exclusions %}
    asof left join excluded_{{ stage }} as x{{ stage }}
        on x{{ stage }}.unit_id = c.unit_id and x{{ stage }}.created_at_utc >= c.complete_{{ stage }}
    {%- endfor %}
),
{%- endif %}
{%- set blocked_stages = stage_exclusions | map('first') | list %}
levels as (
    select
        *,
        {% if n_steps == 1 %}1{% else %}case
            {%- for k in range(2, n_steps + 1) %}
            when not coalesce(at_{{ k }} <= deadline, false){% if (k - 1) in blocked_stages %} or blocked_{{ k - 1 }}{% endif %}
                then {{ k - 1 }}
            {%- endfor %}
            else {{ n_steps }}
        end{% endif %} as level
    from {{ 'blocked' if stage_exclusions else 'chain' }}
),
attempts as (
    select
        {{ key_list }}, entered_at{{ entry_columns() }}, level
        {%- for k in range(1, n_steps + 1) %},
        case when level >= {{ k }} then at_{{ k }} end as reached_{{ k }}
        {%- endfor %}
    from levels
),
