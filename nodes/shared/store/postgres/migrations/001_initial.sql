-- Migration 001: records, history and exceptions. `{{schema}}` is replaced by a validated,
-- quoted identifier before this runs. Times are epoch milliseconds (bigint).

CREATE TABLE {{schema}}.records (
	namespace       text    NOT NULL,
	key             text    NOT NULL,
	state           text    NOT NULL CHECK (state IN ('received', 'processing', 'processed', 'failed')),
	attempt         integer NOT NULL DEFAULT 0,
	claim_token     uuid,
	fingerprint     text,
	result          jsonb,
	last_error      text,
	first_seen_at   bigint  NOT NULL,
	last_seen_at    bigint  NOT NULL,
	updated_at      bigint  NOT NULL,
	lease_until     bigint,
	expires_at      bigint,
	retention_ms    bigint  NOT NULL DEFAULT 0,
	duplicate_count integer NOT NULL DEFAULT 0,
	workflow_id     text,
	execution_id    text,
	-- The last claim decision, 'outcome:reason', so the claim statement can RETURN it.
	decision        text,
	PRIMARY KEY (namespace, key)
) WITH (fillfactor = 85);

-- Stuck claims (processing past lease) are found through this partial index, however many
-- settled records the namespace holds.
CREATE INDEX records_lease_idx ON {{schema}}.records (namespace, lease_until, key) WHERE state = 'processing';
-- list by state, oldest first, with a (updated_at, key) cursor.
CREATE INDEX records_state_idx ON {{schema}}.records (namespace, state, updated_at, key);
-- purge: settled records past retention.
CREATE INDEX records_expiry_idx ON {{schema}}.records (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE {{schema}}.history (
	id           bigserial PRIMARY KEY,
	namespace    text   NOT NULL,
	key          text   NOT NULL,
	at           bigint NOT NULL,
	event        text   NOT NULL,
	reason       text,
	workflow_id  text,
	execution_id text,
	node         text,
	detail       jsonb
);
CREATE INDEX history_key_idx ON {{schema}}.history (namespace, key, id);
CREATE INDEX history_at_idx ON {{schema}}.history (namespace, at);
