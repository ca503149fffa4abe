-- Claims a chunk of distinct keys in one statement: each key is inserted as a fresh claim or,
-- when a record exists, decided by decide_claim() under that row's lock. Concurrent claimers of
-- one key serialise on the row; exactly one of them sees no record (or a claimable one).
-- Keys are taken in sorted order so that two chunks sharing keys cannot deadlock.
-- Every decision but a wait poll ('pending') appends one history row.
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
	SELECT k.key, k.fingerprint, k.duplicates, k.mismatches
	FROM unnest($2::text[], $3::text[], $15::integer[], $16::integer[]) AS k(key, fingerprint, duplicates, mismatches)
),
claimed AS (
	INSERT INTO {{schema}}.records AS r (
		namespace, key, state, attempt, claim_token, fingerprint, first_seen_at, last_seen_at,
		updated_at, lease_until, retention_ms, workflow_id, execution_id, decision
	)
	SELECT $1, i.key, 'processing', 1, gen_random_uuid(), i.fingerprint, c.now_ms, c.now_ms,
		c.now_ms, c.now_ms + $5::bigint, $6::bigint, $12, $13, 'new:first_seen'
	FROM input i CROSS JOIN clock c
	ORDER BY i.key
	ON CONFLICT (namespace, key) DO UPDATE SET (
		state, attempt, claim_token, fingerprint, result, last_error, first_seen_at, last_seen_at,
		updated_at, lease_until, expires_at, retention_ms, duplicate_count, workflow_id,
		execution_id, decision, prior
	) = (
		-- prior: the record as it was, kept when this claim takes the key (migration 005), so
		-- that a failed input can put it back exactly (restore.sql).
		SELECT d.*, CASE WHEN d.decision LIKE 'new:%' THEN to_jsonb(r) - 'prior' END
		FROM {{schema}}.decide_claim(
			r, excluded.fingerprint, excluded.last_seen_at, $5::bigint, $6::bigint, $7, $8, $9,
			$10::integer, $11, $12, $13
		) d
	)
	RETURNING r.key, r.state, r.attempt, r.claim_token, r.first_seen_at, r.last_seen_at,
		r.lease_until, r.result, r.decision, r.prior
),
history AS (
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node)
	SELECT $1, c.key, c.last_seen_at,
		CASE split_part(c.decision, ':', 1)
			WHEN 'new' THEN CASE WHEN c.decision = 'new:reclaimed' THEN 'reclaimed' ELSE 'claimed' END
			WHEN 'duplicate' THEN 'duplicate_seen'
			ELSE 'ambiguous_seen'
		END,
		split_part(c.decision, ':', 2), $12, $13, $14
	FROM claimed c
	WHERE split_part(c.decision, ':', 1) <> 'pending'
	UNION ALL
	-- Items later in the same input with a key already in it: decided by the Guard, recorded here.
	-- unnest(array_fill()), not generate_series(): the planner guesses 10 rows for it instead of
	-- 1000 per key, so a chunk is not costed as ten million history rows — an estimate that
	-- crossed the JIT thresholds and spent 0.5 s compiling every claim (see BENCHMARKS.md).
	SELECT $1, c.key, c.last_seen_at, e.event, 'duplicate_in_batch', $12, $13, $14
	FROM claimed c
	JOIN input i ON i.key = c.key
	CROSS JOIN LATERAL unnest(
		array_fill('duplicate_seen'::text, ARRAY[greatest(coalesce(i.duplicates, 0), 0)])
			|| array_fill('ambiguous_seen'::text, ARRAY[greatest(coalesce(i.mismatches, 0), 0)])
	) AS e(event)
)
SELECT key, state, attempt, claim_token, first_seen_at, last_seen_at, lease_until, result, decision, prior
FROM claimed;
