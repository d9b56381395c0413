{#- The unit properties `greenery funnel --by NAME` breaks the funnel down by, one macro each: an
    SQL expression over `c`, the unit's counted attempt (entered_at, entry_user_id, ...), and `u`,
    marts.dim_users for the user of its entering event. A property is read at the counted attempt's
    entry (its first touchpoint, as Amplitude and PostHog's default do), so each unit has exactly
    one value and the rows add up to the whole funnel. The `-- NAME: help` line above a macro is
    what `greenery funnel --help` and docs/funnel.md say about it; add a property by adding both. -#}
-- state: the user's state, from their address
{% macro state() %}u.state{% endmacro %}
-- region: the user's Census region (the us_states seed)
{% macro region() %}u.region{% endmacro %}
-- customer: returning if the user placed an order before the attempt entered, else new
{% macro customer() %}case when u.user_id is null then null when u.first_order_at_utc < c.entered_at then 'returning' else 'new' end{% endmacro %}
-- weekday: the UTC day of the week the attempt entered (Mon..Sun)
{% macro weekday() %}strftime(c.entered_at, '%a'){% endmacro %}
-- hour: the UTC hour the attempt entered (00..23)
{% macro hour() %}strftime(c.entered_at, '%H'){% endmacro %}
