-- Migration 009: closing the loop (docs/CONTRACT.md §13). An exception records who or what
-- resolved it (resolved_via: person | slack | reconcile; exceptions resolved before read as
-- person, so no backfill rewrites their rows) and may be resolved `reconciled` — a Reconcile
-- found the write in the target system. The resolution CHECK of migration 004 is replaced by
-- one that allows it.
--
-- resolve_exception() takes who resolved and a Reconcile's conditions (claim token, the time the
-- claim must have ended by, acting on a key without an open exception); its new definition lives
-- in functions/, here only the drop of the earlier signature.

ALTER TABLE {{schema}}.exceptions DROP CONSTRAINT IF EXISTS exceptions_resolution_check;
ALTER TABLE {{schema}}.exceptions ADD CONSTRAINT exceptions_resolution_check
	CHECK (resolution IN ('replay', 'markProcessed', 'discard', 'reconciled'));
ALTER TABLE {{schema}}.exceptions ADD COLUMN resolved_via text
	CONSTRAINT exceptions_resolved_via_check CHECK (resolved_via IN ('person', 'slack', 'reconcile'));

DROP FUNCTION IF EXISTS {{schema}}.resolve_exception(uuid, text, text, text, text, text, jsonb, bigint, text, text, text, boolean);
