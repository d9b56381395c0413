-- delete+insert: the model's rows inside the rebuilt range of event time go ($new_data_start,
-- $new_data_end), to be replaced by the delta's.
delete from {{ relation }}
where {{ event_time }} >= $new_data_start and {{ event_time }} <= $new_data_end
