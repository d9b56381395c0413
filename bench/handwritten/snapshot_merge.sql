-- Hand-written type-2 snapshot merge (check column inventory, missing products get a tombstone),
-- run by bench/baselines.py inside one transaction after it staged the source's products file as
-- the temp table staged (typed read_csv/read_parquet). Values: $taken_at, $run_id.
create temp table changed as
select s.product_id, s.name, s.price, s.inventory, c.snapshot_row_id as current_row_id
from staged as s
left join snapshots.products_snapshot as c
    on c.product_id = s.product_id and c.valid_to is null
where c.product_id is null or c.is_deleted or s.inventory is distinct from c.inventory;

create temp table vanished as
select c.snapshot_row_id, c.product_id, c.name, c.price, c.inventory
from snapshots.products_snapshot as c
where c.valid_to is null and not c.is_deleted
    and not exists (select 1 from staged as s where s.product_id = c.product_id);

update snapshots.products_snapshot
set valid_to = $taken_at, closed_by_run = $run_id
where snapshot_row_id in (
    select current_row_id from changed where current_row_id is not null
    union all
    select snapshot_row_id from vanished
);

insert into snapshots.products_snapshot (
    snapshot_row_id, product_id, name, price, inventory, valid_from, valid_to, is_deleted,
    opened_by_run, closed_by_run
)
select
    (select coalesce(max(snapshot_row_id), 0) from snapshots.products_snapshot)
        + row_number() over (order by product_id),
    product_id, name, price, inventory, $taken_at, null, is_deleted, $run_id, null
from (
    select product_id, name, price, inventory, false as is_deleted from changed
    union all
    select product_id, name, price, inventory, true from vanished
);

insert into snapshots.snapshot_runs (
    snapshot_run_id, taken_at, rows_opened, rows_closed, rows_deleted, source, check_columns,
    missing_policy
)
select
    $run_id,
    $taken_at,
    (select count(*) from changed) + (select count(*) from vanished),
    (select count(*) from changed where current_row_id is not null)
        + (select count(*) from vanished),
    (select count(*) from vanished),
    'hand-written',
    'inventory',
    'new_record'
