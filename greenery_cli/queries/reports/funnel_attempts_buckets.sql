{#- Mode any, no exclusions, no step times: whether an attempt reaches each step, by hash joins only.
    Time is cut into buckets one window long, so an attempt's window [entered, entered + window]
    lies in its own bucket and the next. It reaches step k when the last step-k event of its own
    bucket is at or after its entry, or the first of the next bucket is inside the window: one
    equality join, whatever the number of attempts per unit (no pairs of events). Both ends are
    in one row per (unit, bucket): each later event is counted in its own bucket (for `last_k`) and
    in the one before (for `first_k`), so the attempts probe one hash table, not two (two, each
    a grouped copy of the later events, ran out of memory at 10,000x the shop under the 3 GB cap:
    two joins' tables in one pipeline, and the CTE read twice kept whole, which cannot spill). -#}
reach as (
    select
        {{ key_list }},
        bucket - d.next_bucket as bucket
        {%- for k in range(2, n_steps + 1) %},
        max(created_at_utc) filter (where step = {{ k }} and d.next_bucket = 0) as last_{{ k }},
        min(created_at_utc) filter (where step = {{ k }} and d.next_bucket = 1) as first_{{ k }}
        {%- endfor %}
    from (
        select
            {{ key_list }}, step, created_at_utc,
            floor(epoch_us(created_at_utc) / ($window_seconds::bigint * 1000000))::bigint as bucket
        from funnel_events
        where step > 1
    ) as later
    cross join (values (0), (1)) as d(next_bucket)
    group by all
),
attempts as (
    select
        {% for key in keys %}e.{{ key }}, {% endfor %}e.entered_at{{ entry_columns('e.') }},
        {% if n_steps == 1 %}1{% else %}case
            {%- for k in range(2, n_steps + 1) %}
            when not (coalesce(r.last_{{ k }} >= e.entered_at, false)
                or coalesce(r.first_{{ k }} <= e.entered_at + to_seconds($window_seconds), false))
                then {{ k - 1 }}
            {%- endfor %}
            else {{ n_steps }}
        end{% endif %} as level
    from (
        select
            *, floor(epoch_us(entered_at) / ($window_seconds::bigint * 1000000))::bigint as bucket
        from entries
    ) as e
    left join reach as r on {{ same_unit('r', 'e') }} and r.bucket = e.bucket
),
