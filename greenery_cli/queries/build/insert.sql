-- Add the delta's rows to the model, column by column.
insert into {{ relation }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }} from {{ delta }}
