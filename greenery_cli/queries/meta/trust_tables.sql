-- The trust tables: every freshness check and every data test result, appended per run.
create table if not exists meta.freshness_checks (
    run_id bigint not null,
    checked_at timestamptz not null,
    kind varchar not null,
    name varchar not null,
    loaded_at timestamptz,
    load_age_s double,
    newest_record_at timestamptz,
    record_age_s double,
    duration_s double,
    warn_after varchar,
    error_after varchar,
    record_warn_after varchar,
    record_error_after varchar,
    status varchar not null,
    note varchar
);
create table if not exists meta.test_results (
    run_id bigint not null,
    test_name varchar not null,
    kind varchar not null,
    target varchar,
    column_name varchar,
    severity varchar not null,
    status varchar not null,
    failures bigint,
    examples varchar,
    reason varchar,
    message varchar,
    started_at timestamptz not null,
    duration_s double not null
);
