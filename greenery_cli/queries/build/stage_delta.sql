-- An incremental build's new rows, computed once and checked before they touch the model.
create temp table {{ delta }} as
{{ sql }}
