-- Applies a list of ledger transitions in one statement, in order, each under its row lock.
-- The common case — markProcessed of one's own live claim (claim token verified, not forced, no
-- key twice in the list, no open duplicate run) — is one set-based UPDATE with its history rows,
-- the same effect apply_transition() has for it; every other request goes through
-- apply_transition() (functions/) after it. Events are counted in event_counts last, after
-- every row lock; a processed event of a key past its first attempt is counted with the reason
-- `retry` (the report's retries that then succeeded).
--
-- Row locks are taken in key order, the order claim.sql and purge.sql take them, so that two of
-- our statements never wait on each other crosswise (a deadlock): first every existing record of
-- the list (`locked`), then apply_transition() runs by key — requests of one key in request
-- order; requests of different keys touch different records, so their order changes no outcome.
-- A list that may create records (markReceived, a forced transition) skips the set-based UPDATE
-- and the early lock: apply_transition() alone then takes each key's lock, existing or new, in
-- key order, as a claim does. The answer is in request order.
-- $1 namespace  $2 keys text[]  $3 kinds text[]  $4 claim tokens text[]  $5 verify boolean[]
-- $6 force boolean[]  $7 results jsonb[] (as text[])  $8 errors text[]  $9 retention_ms bigint[]
-- $10 now_ms bigint|null  $11 workflow_id  $12 execution_id  $13 node
-- Returns per request, in order: applied, noop, reject_reason and the record's columns after.
WITH clock AS (
	SELECT coalesce($10::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint) AS now_ms
),
creates AS (
	SELECT coalesce(bool_or(k = 'markReceived' OR f), false) AS may
	FROM unnest($3::text[], $6::boolean[]) AS x(k, f)
),
locked AS (
	SELECT r.key
	FROM {{schema}}.records r
	WHERE r.namespace = $1 AND r.key = ANY ($2::text[]) AND NOT (SELECT may FROM creates)
	ORDER BY r.key
	FOR UPDATE
),
input AS (
	SELECT t.*
	FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::boolean[], $7::text[],
		$8::text[], $9::bigint[]) WITH ORDINALITY AS t(key, kind, claim_token, verify, force, result,
		error, retention_ms, ord)
	WHERE (SELECT count(*) FROM locked) >= 0 -- the early locks come first
),
quick AS (
	-- Only when no key repeats in the list (then request order within a key cannot matter). Each
	-- request finds its row through the primary key (the LATERAL probe), and the UPDATE takes the
	-- row by its ctid: a plan that joins the whole table per chunk is not possible (the planner
	-- chose one, quadratic, while it took a just-created table for a tiny one). A row changed in
	-- between is not updated here (its ctid moved) and goes through apply_transition().
	UPDATE {{schema}}.records AS r SET
		state = 'processed',
		result = f.result::jsonb,
		lease_until = NULL,
		expires_at = CASE WHEN r.retention_ms > 0 THEN c.now_ms + r.retention_ms END,
		updated_at = c.now_ms
	FROM (
		SELECT q.ord, q.claim_token, q.result, x.tid
		FROM input q
		CROSS JOIN LATERAL (
			SELECT y.ctid AS tid FROM {{schema}}.records y
			WHERE y.namespace = $1 AND y.key = q.key
			LIMIT 1 -- keeps the probe a subquery per request: the planner may not flatten it into a join
		) x
		WHERE q.kind = 'markProcessed' AND q.verify AND NOT q.force AND q.claim_token IS NOT NULL
			AND (SELECT count(DISTINCT k) = count(*) FROM unnest($2::text[]) AS k) AND NOT (SELECT may FROM creates)
	) AS f,
	clock c
	WHERE r.ctid = f.tid AND r.state = 'processing' AND r.claim_token::text = f.claim_token AND r.run_at IS NULL
		AND (r.expires_at IS NULL OR r.expires_at > c.now_ms)
	RETURNING f.ord, r
),
quick_history AS (
	INSERT INTO {{schema}}.history (namespace, key, at, event, reason, workflow_id, execution_id, node)
	SELECT $1, (q.r).key, c.now_ms, 'processed', NULL, $11, $12, $13
	FROM quick q CROSS JOIN clock c
	RETURNING 1
),
slow AS (
	SELECT t.ord, t.key AS request_key, a.applied, a.noop, a.reject_reason, a.rec, a.event
	FROM (SELECT * FROM input i WHERE i.ord NOT IN (SELECT q.ord FROM quick q) ORDER BY i.key, i.ord) AS t
	CROSS JOIN clock c
	CROSS JOIN LATERAL {{schema}}.apply_transition($1, t.key, t.kind, t.claim_token, t.verify, t.force,
		t.result::jsonb, t.error, t.retention_ms, c.now_ms, $11, $12, $13, NULL) a
),
outcome AS (
	SELECT q.ord, (q.r).key AS request_key, true AS applied, false AS noop, NULL::text AS reject_reason,
		q.r AS rec, 'processed'::text AS event
	FROM quick q
	UNION ALL
	SELECT * FROM slow
),
counted AS (
	SELECT {{schema}}.count_events($1, (SELECT now_ms FROM clock), array_agg(t.event), array_agg(t.reason), array_agg(t.n))
	FROM (
		-- A processed key on a later attempt than its first is a retry that then succeeded
		-- (reason `retry`; stats count every processed event alike, the report counts these too).
		SELECT o.event, CASE WHEN o.event = 'forced' THEN i.kind
			WHEN o.event = 'processed' AND (o.rec).attempt > 1 THEN 'retry' END AS reason, count(*) AS n
		FROM outcome o JOIN input i ON i.ord = o.ord
		WHERE o.event IS NOT NULL
		GROUP BY 1, 2
	) t
	WHERE (SELECT count(*) FROM quick_history) >= 0
)
SELECT o.ord, o.request_key, o.applied, o.noop, o.reject_reason, (o.rec).*
FROM outcome o
WHERE (SELECT count(*) FROM counted) >= 0
ORDER BY o.ord;
