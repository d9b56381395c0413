-- Every version of the products a run touched (the query `touched` names their product_id), with
-- the snapshot's own columns, for the invariants: only those products can break one the history
-- held before the run. Matched by the key's hash, an integer join at two thirds the cost of one
-- on string keys over the whole history (a product whose hash collides is only checked as well).
create or replace temp table snapshot_touched as
select {{ columns | join(', ') }}
from snapshots.products_snapshot
where hash(product_id) in (select hash(product_id) from ({{ touched }}))
