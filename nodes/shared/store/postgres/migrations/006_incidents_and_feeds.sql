-- Migration 006: one open incident per key (Router option groupBy = key, docs/CONTRACT.md §12) and the indexes
-- the Idempotency Trigger reads its feeds through.
--
-- An exception now says how it groups: `keyAndReason` (as before: at most one open per
-- (namespace, key, reason)) or `key` (at most one open per (namespace, key), every reason it was
-- recorded with in `reasons`, first seen first). The old unique index is narrowed to the first
-- kind, so an incident of a key never blocks a per-reason exception of it nor the other way round.

ALTER TABLE {{schema}}.exceptions
	ADD COLUMN group_by text NOT NULL DEFAULT 'keyAndReason' CHECK (group_by IN ('keyAndReason', 'key')),
	ADD COLUMN reasons text[];
UPDATE {{schema}}.exceptions SET reasons = ARRAY[reason];
ALTER TABLE {{schema}}.exceptions ALTER COLUMN reasons SET NOT NULL;

DROP INDEX {{schema}}.exceptions_open_key_idx;
CREATE UNIQUE INDEX exceptions_open_key_idx ON {{schema}}.exceptions (namespace, key, reason)
	WHERE status = 'open' AND group_by = 'keyAndReason';
CREATE UNIQUE INDEX exceptions_open_incident_idx ON {{schema}}.exceptions (namespace, key)
	WHERE status = 'open' AND group_by = 'key';

-- The trigger's feeds: open exceptions by the time they were last seen, stuck claims by the end
-- of their lease across namespaces (records_lease_idx leads with the namespace).
CREATE INDEX exceptions_seen_idx ON {{schema}}.exceptions (last_seen_at) WHERE status = 'open';
CREATE INDEX records_lease_any_idx ON {{schema}}.records (lease_until) WHERE state = 'processing';
