-- Claims a chunk of distinct keys in one statement: each key is inserted as a fresh claim or,
-- when a record exists, decided under that row's lock. Concurrent claimers of one key serialise
-- on the row; exactly one of them sees no record (or a claimable one). Keys are taken in sorted
-- order so that two chunks sharing keys cannot deadlock.
--
-- History (migration 007): a duplicate joins the key's open run on the record (run_*) and
-- writes no history row — the plain duplicate of a processed key is decided right here, without
-- a function call; every other existing key goes through claim_existing(), which writes its
-- history rows (the run it ends first). A fresh key's rows are written below. A wait poll
-- ('pending') writes no event. Every event is counted in event_counts last, after all row locks.
--
-- $1 namespace text      $2 keys text[]          $3 fingerprints text[] (null entries allowed)
-- $4 now_ms bigint|null (null = server clock)    $5 lease_ms bigint      $6 retention_ms bigint
-- $7 on_in_progress      $8 on_lease_expired     $9 on_failed            $10 max_attempts int
-- $11 on_payload_mismatch                        $12 workflow_id         $13 execution_id
-- $14 node              $15 in-batch duplicates int[]   $16 in-batch mismatches int[]
-- Returns one row per key: key, state, attempt, claim_token, first_seen_at, last_seen_at,
-- lease_until, result, decision ('outcome:reason'), prior (the record before a claim that took
-- an existing key, as jsonb; null when the key was new or the outcome is not new).
WITH clock AS (
	SELECT coalesce($4::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
),
input AS (
	SELECT k.key, k.fingerprint, greatest(coalesce(k.duplicates, 0), 0) AS duplicates,
		greatest(coalesce(k.mismatches, 0), 0) AS mismatches
	FROM unnest($2::text[], $3::text[], $15::integer[], $16::integer[]) AS k(key, fingerprint, duplicates, mismatches)
),
claimed AS (
	INSERT INTO {{schema}}.records AS r (
		namespace, key, state, attempt, claim_token, fingerprint, first_seen_at, last_seen_at,
		updated_at, lease_until, retention_ms, workflow_id, execution_id, decision,
		run_at, run_count, run_reason, run_workflow_id, run_execution_id, run_node
	)
	-- A fresh key's in-batch duplicates open a run, unless a mismatch after them ends it (then the
	-- history rows below say it all). `decision` also carries the key's repeats, ':<duplicates>:
	-- <mismatches>', into ON CONFLICT, where `excluded` is the only per-key input; readers take
	-- its first two parts.
	SELECT $1, i.key, 'processing', 1, gen_random_uuid(), i.fingerprint, c.now_ms, c.now_ms,
		c.now_ms, c.now_ms + $5::bigint, $6::bigint, $12, $13,
		'new:first_seen:' || i.duplicates || ':' || i.mismatches,
		o.run_at, CASE WHEN o.run_at IS NOT NULL THEN i.duplicates END,
		CASE WHEN o.run_at IS NOT NULL THEN 'duplicate_in_batch' END,
		CASE WHEN o.run_at IS NOT NULL THEN $12 END, CASE WHEN o.run_at IS NOT NULL THEN $13 END,
		CASE WHEN o.run_at IS NOT NULL THEN $14 END
	FROM input i CROSS JOIN clock c
	CROSS JOIN LATERAL (SELECT CASE WHEN i.duplicates > 0 AND i.mismatches = 0 THEN c.now_ms END AS run_at) o
	ORDER BY i.key
	ON CONFLICT (namespace, key) DO UPDATE SET (
		state, attempt, claim_token, fingerprint, result, last_error, first_seen_at, last_seen_at,
		updated_at, lease_until, expires_at, retention_ms, duplicate_count, workflow_id,
		execution_id, decision, prior, run_at, run_count, run_reason, run_workflow_id,
		run_execution_id, run_node
	) = (
		-- A processed key, within retention, same or no fingerprint, no mismatch in the input: a
		-- duplicate (decide_claim's `already_processed` row), counted on the record and its run.
		SELECT r.state, r.attempt, r.claim_token, r.fingerprint, r.result, r.last_error, r.first_seen_at,
			excluded.last_seen_at, r.updated_at, r.lease_until, r.expires_at, r.retention_ms,
			r.duplicate_count + 1, r.workflow_id, r.execution_id, 'duplicate:already_processed', NULL::jsonb,
			coalesce(r.run_at, excluded.last_seen_at),
			CASE WHEN r.run_at IS NULL THEN 0 ELSE r.run_count END + 1 + split_part(excluded.decision, ':', 3)::integer,
			CASE WHEN r.run_at IS NULL THEN 'already_processed' ELSE r.run_reason END,
			CASE WHEN r.run_at IS NULL THEN $12 ELSE r.run_workflow_id END,
			CASE WHEN r.run_at IS NULL THEN $13 ELSE r.run_execution_id END,
			CASE WHEN r.run_at IS NULL THEN $14 ELSE r.run_node END
		WHERE r.state = 'processed' AND (r.expires_at IS NULL OR r.expires_at > excluded.last_seen_at)
			AND (excluded.fingerprint IS NULL OR r.fingerprint IS NULL OR excluded.fingerprint = r.fingerprint)
			AND split_part(excluded.decision, ':', 4) = '0'
		UNION ALL
		SELECT e.state, e.attempt, e.claim_token, e.fingerprint, e.result, e.last_error, e.first_seen_at,
			e.last_seen_at, e.updated_at, e.lease_until, e.expires_at, e.retention_ms, e.duplicate_count,
			e.workflow_id, e.execution_id, e.decision, e.prior, e.run_at, e.run_count, e.run_reason,
			e.run_workflow_id, e.run_execution_id, e.run_node
		FROM {{schema}}.claim_existing(
			r, excluded.fingerprint, excluded.last_seen_at, $5::bigint, $6::bigint, $7, $8, $9,
			$10::integer, $11, $12, $13, $14,
			split_part(excluded.decision, ':', 3)::integer, split_part(excluded.decision, ':', 4)::integer
		) e
		WHERE NOT (r.state = 'processed' AND (r.expires_at IS NULL OR r.expires_at > excluded.last_seen_at)
			AND (excluded.fingerprint IS NULL OR r.fingerprint IS NULL OR excluded.fingerprint = r.fingerprint)
			AND split_part(excluded.decision, ':', 4) = '0')
	)
	RETURNING r.key, r.state, r.attempt, r.claim_token, r.first_seen_at, r.last_seen_at,
		r.lease_until, r.result, r.decision, r.prior,
		-- Only a fresh row keeps the repeats suffix: claim_existing() and the duplicate arm set a plain decision.
		split_part(r.decision, ':', 3) <> '' AS inserted
),
history AS (
	-- A fresh key's events: the claim, then — when a mismatch ends the in-batch run — the run as
	-- one event and each mismatch. unnest(array_fill()), not generate_series(): the planner
	-- guesses 10 rows for it instead of 1000 per key, so a chunk is not costed as ten million
	-- history rows — an estimate that crossed the JIT thresholds (see BENCHMARKS.md).
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node, last_at, count)
	SELECT $1, c.key, c.last_seen_at, 'claimed', 'first_seen', $12, $13, $14, NULL::bigint, NULL::integer
	FROM claimed c
	WHERE c.inserted
	UNION ALL
	SELECT $1, c.key, c.last_seen_at, 'duplicate_seen', 'duplicate_in_batch', $12, $13, $14, c.last_seen_at, i.duplicates
	FROM claimed c JOIN input i ON i.key = c.key
	WHERE c.inserted AND i.duplicates > 0 AND i.mismatches > 0
	UNION ALL
	SELECT $1, c.key, c.last_seen_at, e.event, 'duplicate_in_batch', $12, $13, $14, NULL, NULL
	FROM claimed c
	JOIN input i ON i.key = c.key
	CROSS JOIN LATERAL unnest(array_fill('ambiguous_seen'::text, ARRAY[i.mismatches])) AS e(event)
	WHERE c.inserted
	RETURNING 1
),
counted AS (
	-- Every delivery of the chunk in its hour's counters: the decision (none for a wait poll) and
	-- the in-batch repeats.
	SELECT {{schema}}.count_events($1, (SELECT now_ms FROM clock), array_agg(t.event), array_agg(t.reason), array_agg(t.n))
	FROM (
		SELECT x.event, x.reason, sum(x.n)::bigint AS n
		FROM claimed c
		JOIN input i ON i.key = c.key
		CROSS JOIN LATERAL (VALUES
			(CASE split_part(c.decision, ':', 1)
				WHEN 'new' THEN CASE WHEN split_part(c.decision, ':', 2) = 'reclaimed' THEN 'reclaimed' ELSE 'claimed' END
				WHEN 'duplicate' THEN 'duplicate_seen'
				WHEN 'ambiguous' THEN 'ambiguous_seen'
			END, split_part(c.decision, ':', 2), 1),
			('duplicate_seen', 'duplicate_in_batch', i.duplicates),
			('ambiguous_seen', 'duplicate_in_batch', i.mismatches)
		) AS x(event, reason, n)
		WHERE x.event IS NOT NULL AND x.n > 0
		GROUP BY x.event, x.reason
	) t
	-- After the history rows (written by then: this reads them), so the counters' row locks come last.
	WHERE (SELECT count(*) FROM history) >= 0
)
SELECT key, state, attempt, claim_token, first_seen_at, last_seen_at, lease_until, result, decision, prior
FROM claimed
WHERE (SELECT count(*) FROM counted) >= 0;
