-- A view model: nothing is stored; every reader runs its SELECT over its inputs as they are.
create or replace view {{ relation }} as
{{ sql }}
