-- Migration 010: exceptions locked in one order, and indexes for the reads of the exceptions
-- table that scanned it (issue 20).
--
-- 1. Lock order. resolve_exception() (functions/) locks a key's open exceptions in
--    (reason, group_by, id) order — the order record_exceptions.sql and record_incidents.sql take
--    them in — and only then the key's record; no statement locks a record and then an
--    exception. Before, a resolution by key locked them in whatever order the plan found them
--    and deadlocked with a recording of several reasons of the key (test/store/postgres/
--    postgresLocks.test.ts). It now finds them through the two unique indexes of open exceptions
--    instead of every open exception of every namespace. The function headers of decide_claim()
--    and apply_transition() name the reference models where they now live (engine/model/).
-- 2. Indexes (figures in BENCHMARKS.md, "Exceptions: the report's indexes"):
--    - exceptions_first_seen_idx: the report's exceptions opened in its hours (every status), for
--      one namespace or every namespace. Before: a sequential scan of the whole table.
--    - exceptions_resolved_idx: the report's exceptions resolved in its hours. Before: the same.
--    - exceptions_open_namespace_idx: a namespace's open exceptions, oldest first — the Router's
--      list, the report's open count and oldest open, stats' open count. Before: every open
--      exception of every namespace was read and filtered.
--
-- Rolling upgrade: CREATE INDEX takes a SHARE lock on exceptions for the time of the build:
-- recording and resolving exceptions wait meanwhile (claims and transitions do not touch the
-- table); on 200,000 exceptions the three builds took 0.4 to 0.8 s. CREATE INDEX CONCURRENTLY
-- would not block them, but it cannot run inside a transaction block, and migrate.ts runs every
-- migration in one transaction under the schema's advisory lock. On a very large table, create
-- the three indexes CONCURRENTLY by hand with these names before upgrading: IF NOT EXISTS then
-- leaves them as they are (check that none is left INVALID by a build that failed). Code of
-- version 009 still running meanwhile keeps working: nothing it reads or writes changed.

CREATE INDEX IF NOT EXISTS exceptions_first_seen_idx ON {{schema}}.exceptions (first_seen_at, namespace);
CREATE INDEX IF NOT EXISTS exceptions_resolved_idx ON {{schema}}.exceptions (resolved_at, namespace) WHERE status = 'resolved';
CREATE INDEX IF NOT EXISTS exceptions_open_namespace_idx ON {{schema}}.exceptions (namespace, first_seen_at, id) WHERE status = 'open';
