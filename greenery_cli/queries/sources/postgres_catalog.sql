-- Run on PostgreSQL, not DuckDB: the columns of the named tables in one schema ($1 the schema,
-- $2 the table names), each with its type as PostgreSQL spells it and its base type's typname
-- (a domain counts as its base type).
select c.relname, a.attname, bt.oid::regtype::text, bt.typname
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_catalog.pg_type t on t.oid = a.atttypid
join pg_catalog.pg_type bt on bt.oid = coalesce(nullif(t.typbasetype, 0), t.oid)
where n.nspname = $1 and c.relkind in ('r', 'v', 'm', 'p', 'f') and c.relname = any($2)
order by c.relname, a.attnum
