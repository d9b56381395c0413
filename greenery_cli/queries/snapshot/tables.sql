-- The type-2 history of products and the log of snapshot runs (columns documented in the README, "Snapshots").
create table if not exists snapshots.products_snapshot (
    snapshot_row_id bigint not null,
    product_id varchar not null,
    name varchar,
    price double,
    inventory integer,
    valid_from timestamptz not null,
    valid_to timestamptz,
    is_deleted boolean not null,
    opened_by_run bigint not null,
    closed_by_run bigint
);
create table if not exists snapshots.snapshot_runs (
    snapshot_run_id bigint not null,
    taken_at timestamptz not null,
    rows_opened bigint not null,
    rows_closed bigint not null,
    rows_deleted bigint not null,
    source varchar,
    check_columns varchar,
    missing_policy varchar
)
