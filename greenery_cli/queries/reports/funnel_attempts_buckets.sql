{#- Mode any, no exclusions, no step times: whether an attempt reaches each step, by hash joins only.
    Time is cut into buckets one window long, so an attempt's window [entered, entered + window]
    lies in its own bucket and the next. It reaches step k when the last step-k event of its own
    bucket is at or after its entry, or the first of the next bucket is inside the window: two
    equality joins, whatever the number of attempts per unit (no pairs of events). -#}
later_by_bucket as (
    select
        {{ key_list }},
        floor(epoch_us(created_at_utc) / ($window_seconds::bigint * 1000000))::bigint as bucket
        {%- for k in range(2, n_steps + 1) %},
        max(created_at_utc) filter (where step = {{ k }}) as last_{{ k }},
        min(created_at_utc) filter (where step = {{ k }}) as first_{{ k }}
        {%- endfor %}
    from funnel_events
    where step > 1
    group by all
),
attempts as (
    select
        {% for key in keys %}e.{{ key }}, {% endfor %}e.entered_at{{ entry_columns('e.') }},
        {% if n_steps == 1 %}1{% else %}case
            {%- for k in range(2, n_steps + 1) %}
            when not (coalesce(here.last_{{ k }} >= e.entered_at, false)
                or coalesce(next.first_{{ k }} <= e.entered_at + to_seconds($window_seconds), false))
                then {{ k - 1 }}
            {%- endfor %}
            else {{ n_steps }}
        end{% endif %} as level
    from (
        select
            *, floor(epoch_us(entered_at) / ($window_seconds::bigint * 1000000))::bigint as bucket
        from entries
    ) as e
    left join later_by_bucket as here on {{ same_unit('here', 'e') }} and here.bucket = e.bucket
    left join later_by_bucket as next on {{ same_unit('next', 'e') }} and next.bucket = e.bucket + 1
),
