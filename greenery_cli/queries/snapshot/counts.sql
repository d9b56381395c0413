-- What the run writes: versions opened (not tombstones), versions closed, products deleted (tombstoned or invalidated).
select
    (select count(*) from snapshot_opened where not is_deleted) as opened,
    (select count(*) from snapshot_changes where current_row_id is not null) as closed,
    (select count(*) from snapshot_changes where change = 'gone') as deleted
