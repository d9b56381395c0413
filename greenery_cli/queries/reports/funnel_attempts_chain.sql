{#- Modes any and ordered, with step times and exclusions. `stepped` (funnel_attempts.sql) gives
    each event the first step-k event at or after it, so an attempt reaches step k at its entry's
    next_k (mode any) or at the next_k of its step-(k-1) event (mode ordered, an equality join on
    (unit, moment)): a sort, never pairs of events. The same SQL runs on DuckDB and on Spark,
    which has no ASOF join. -#}
{%- macro first_at_or_after(flag) -%}
min(case when {{ flag }} = 1 then moment end) over (
            partition by unit_id order by moment desc rows between unbounded preceding and current row
        )
{%- endmacro %}
{%- if mode != 'any' %}{% for k in range(2, n_steps) %}
-- per moment of a step-{{ k }} event, the first step-{{ k + 1 }} event at or after it
after_step_{{ k }} as (
    select {{ key_list }}, created_at_utc, min(next_{{ k + 1 }}) as next_{{ k + 1 }}
    from stepped
    where step = {{ k }}
    group by {{ key_list }}, created_at_utc
),
{%- endfor %}{% endif %}
chain as (
    select
        {% for key in keys %}e.{{ key }}, {% endfor %}e.entered_at{{ entry_columns('e.') }},
        e.entered_at + to_seconds($window_seconds) as deadline,
        e.entered_at as at_1
        {%- for k in range(2, n_steps + 1) %},
        {{ 'e' if mode == 'any' or k == 2 else 'a%d' % (k - 1) }}.next_{{ k }} as at_{{ k }}
        {%- endfor %}
    from entries as e
    {%- if mode != 'any' %}{% for k in range(2, n_steps) %}
    left join after_step_{{ k }} as a{{ k }}
        on {{ same_unit('a%d' % k, 'e') }} and a{{ k }}.created_at_utc = {{ 'e' if k == 2 else 'a%d' % (k - 1) }}.next_{{ k }}
    {%- endfor %}{% endif %}
),
{%- if stage_exclusions %}
-- exclusions: the moment each stage was complete (any: the latest of its steps' events; Spark's
-- greatest() wants two arguments)
staged as (
    select
        *
        {%- for stage, _names in stage_exclusions %},
        {% if mode == 'any' and stage > 1 %}greatest({% for j in range(1, stage + 1) %}at_{{ j }}{{ ', ' if not loop.last }}{% endfor %}){% else %}at_{{ stage }}{% endif %} as complete_{{ stage }}
        {%- endfor %}
    from chain
),
-- per moment of a unit (its attempts' stage completions and its excluded events), whether an event
-- excluded from each stage happens then; a stage is blocked when one happens from its completion
-- until the next step
exclusion_moments as (
    select
        unit_id,
        moment
        {%- for stage, _names in stage_exclusions %},
        max(excluded_{{ stage }}) as excluded_{{ stage }}
        {%- endfor %}
    from (
        {%- for stage, _names in stage_exclusions %}
        select unit_id, complete_{{ stage }} as moment
            {%- for other, _n in stage_exclusions %}, 0 as excluded_{{ other }}{% endfor %}
        from staged
        where complete_{{ stage }} is not null
        union all
        {%- endfor %}
        select
            {{ unit_column }} as unit_id, created_at_utc as moment
            {%- for stage, names in stage_exclusions %},
            case when event_type in ({% for name in names %}${{ name }}{{ ', ' if not loop.last }}{% endfor %}) then 1 else 0 end as excluded_{{ stage }}
            {%- endfor %}
        from marts.fct_event_path
        where {{ unit_column }} is not null and event_type in (
            {%- for stage, names in stage_exclusions %}{% for name in names %}${{ name }}{{ ', ' if not loop.last }}{% endfor %}{{ ', ' if not loop.last }}{% endfor %})
    ) as unit_events
    group by unit_id, moment
),
exclusion_following as (
    select
        unit_id,
        moment
        {%- for stage, _names in stage_exclusions %},
        {{ first_at_or_after('excluded_%d' % stage) }} as next_excluded_{{ stage }}
        {%- endfor %}
    from exclusion_moments
),
blocked as (
    select
        c.*
        {%- for stage, _names in stage_exclusions %},
        coalesce(x{{ stage }}.next_excluded_{{ stage }} < c.at_{{ stage + 1 }}, false) as blocked_{{ stage }}
        {%- endfor %}
    from staged as c
    {%- for stage, _names in stage_exclusions %}
    left join exclusion_following as x{{ stage }}
        on x{{ stage }}.unit_id = c.unit_id and x{{ stage }}.moment = c.complete_{{ stage }}
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
