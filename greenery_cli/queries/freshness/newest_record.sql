-- A raw table's row count and, when it declares a freshness column, its newest record time.
select
    count(*) as records,
    {% if column %}max({{ column }}){% else %}null{% endif %} as newest_record_at
from raw.{{ table }}
