-- Migration 010: exceptions locked in one order (issue 20).
--
-- resolve_exception() (functions/) locks a key's open exceptions in (reason, group_by, id) order
-- — the order record_exceptions.sql and record_incidents.sql take them in — and only then the
-- key's record; no statement locks a record and then an exception. Before, a resolution by key
-- locked them in whatever order the plan found them and deadlocked with a recording of several
-- reasons of the key (test/store/postgres/postgresLocks.test.ts). The function headers of
-- decide_claim() and apply_transition() name the reference models where they now live
-- (engine/model/). Functions only: no table is touched.

SELECT 1;
