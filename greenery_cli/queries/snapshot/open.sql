-- Open this run's versions: valid from the run's moment, current until a later run closes them.
insert into snapshots.products_snapshot by name
select
    * exclude (change),
    $taken_at as valid_from,
    null::timestamptz as valid_to,
    $run_id as opened_by_run,
    null::bigint as closed_by_run
from snapshot_opened
