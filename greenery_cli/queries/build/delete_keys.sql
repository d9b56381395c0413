-- merge: the model's rows whose unique key the delta holds go, to be replaced by the delta's.
delete from {{ relation }} as target
where exists (
    select 1 from {{ delta }} as delta
    where {% for key in keys %}delta.{{ key }} = target.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
)
