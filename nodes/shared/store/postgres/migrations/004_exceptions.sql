-- Migration 004: the Exception Router's remembered queue. At most one open exception per
-- (namespace, key, reason): repeats count occurrences on it. resolve_exception() (defined in
-- functions/resolve_exception.sql) closes exceptions and acts on the key's record in the same
-- transaction.

CREATE TABLE {{schema}}.exceptions (
	id            uuid    PRIMARY KEY DEFAULT gen_random_uuid(),
	namespace     text    NOT NULL,
	key           text    NOT NULL,
	reason        text    NOT NULL,
	owner         text    NOT NULL,
	severity      text    NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
	route         text    NOT NULL,
	status        text    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
	occurrences   integer NOT NULL DEFAULT 1,
	first_seen_at bigint  NOT NULL,
	last_seen_at  bigint  NOT NULL,
	workflow_id   text,
	execution_id  text,
	resolution    text CHECK (resolution IN ('replay', 'markProcessed', 'discard')),
	resolved_by   text,
	resolved_at   bigint,
	note          text
);
CREATE UNIQUE INDEX exceptions_open_key_idx ON {{schema}}.exceptions (namespace, key, reason) WHERE status = 'open';
CREATE INDEX exceptions_open_age_idx ON {{schema}}.exceptions (first_seen_at) WHERE status = 'open';
