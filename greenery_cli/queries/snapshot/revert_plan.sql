-- Undoing a run: delete the versions it opened, re-open the versions it closed.
create or replace temp table snapshot_reverted as
{% include 'snapshot/_revert_rows.sql' %}
