-- accepted_range: the column's values lie between min_value and max_value (either may be absent; inclusive unless told); one row per row outside.
{% from 'tests/generic/macros.sql' import tested %}
select *
from {{ tested(relation, where) }} as model
where {{ column }} is not null and (
    false
    {%- if has_min %} or {{ column }} {{ '<' if inclusive else '<=' }} $min_value{% endif %}
    {%- if has_max %} or {{ column }} {{ '>' if inclusive else '>=' }} $max_value{% endif %}
)
