{#- Mode strict: the unit's events in order are numbered in runs of one step (fct_event_path), so
    an attempt entering in run R reaches step k exactly when run R + k - 1 is a run of step k and
    starts inside the window: an equality join on (unit, run - step), linear in the events. No
    exclusion can change a strict attempt: any other event between two steps already stops it. -#}
path as not materialized (
    select
        {{ unit_column }} as unit_id, {{ run_column }} as run_no, created_at_utc, step
        {%- if with_entry or entry == 'first' %}, event_id{% endif %}
        {%- if with_entry %}, {{ other_column }}{% endif %}
    from marts.fct_event_path
    where {{ unit_column }} is not null
),
entries as (
    {%- if entry == 'first' %}
    -- only the unit's first step-1 event in range (then the lower event_id): an aggregate, no sort
    select
        unit_id,
        arg_min(run_no, (created_at_utc, event_id)) as run_no,
        min(created_at_utc) as entered_at
        {%- if with_entry %},
        arg_min(event_id, (created_at_utc, event_id)) as entry_event_id,
        arg_min({{ other_column }}, (created_at_utc, event_id)) as entry_other_id
        {%- endif %}
    from path
    where step = 1{{ entering_range() }}
    group by unit_id
    {%- else %}
    select
        unit_id,
        run_no,
        created_at_utc as entered_at
        {%- if with_entry %},
        event_id as entry_event_id,
        {{ other_column }} as entry_other_id
        {%- endif %}
    from path
    where step = 1{{ entering_range() }}
    {%- endif %}
),
-- a run of step k sits k - 1 runs after the entry's run exactly when run_no - step = entry run - 1
step_runs as (
    select unit_id, run_no - step as chain_key, step, min(created_at_utc) as first_at
    from path
    where step > 1
    group by unit_id, run_no, step
),
chain as (
    select
        e.unit_id,
        e.entered_at{{ entry_columns('e.') }},
        e.entered_at + to_seconds($window_seconds) as deadline,
        e.entered_at as at_1
        {%- for k in range(2, n_steps + 1) %},
        r{{ k }}.first_at as at_{{ k }}
        {%- endfor %}
    from entries as e
    {%- for k in range(2, n_steps + 1) %}
    left join step_runs as r{{ k }}
        on r{{ k }}.unit_id = e.unit_id and r{{ k }}.chain_key = e.run_no - 1 and r{{ k }}.step = {{ k }}
    {%- endfor %}
),
levels as (
    select
        *,
        {% if n_steps == 1 %}1{% else %}case
            {%- for k in range(2, n_steps + 1) %}
            when not coalesce(at_{{ k }} <= deadline, false) then {{ k - 1 }}
            {%- endfor %}
            else {{ n_steps }}
        end{% endif %} as level
    from chain
),
attempts as (
    select
        unit_id, entered_at{{ entry_columns() }}, level
        {%- for k in range(1, n_steps + 1) %},
        case when level >= {{ k }} then at_{{ k }} end as reached_{{ k }}
        {%- endfor %}
    from levels
),
