-- count_events(): adds counted events to their hour in event_counts: rows of (event, reason, n)
-- at one time. Called last in a statement or function — after every row lock, in
-- (hour, event, reason) order, so two statements never wait on each other crosswise. A
-- namespace's counters are spread over a few slots by server process so that concurrent writers
-- rarely share a row. LANGUAGE sql: its body is checked when created, so event_counts must exist
-- (migration 007) before the functions are applied.

CREATE OR REPLACE FUNCTION {{schema}}.count_events(p_namespace text, p_now bigint, p_events text[], p_reasons text[], p_counts bigint[])
RETURNS void LANGUAGE sql VOLATILE AS $fn$
	INSERT INTO {{schema}}.event_counts AS c (namespace, hour, event, reason, slot, n)
	SELECT p_namespace, p_now - p_now % 3600000, e.event, coalesce(e.reason, ''), pg_backend_pid() % 4, sum(e.n)
	FROM unnest(p_events, p_reasons, p_counts) AS e(event, reason, n)
	WHERE e.event IS NOT NULL AND e.n > 0
	GROUP BY 2, 3, 4
	ORDER BY 2, 3, 4
	ON CONFLICT (namespace, hour, event, reason, slot) DO UPDATE SET n = c.n + excluded.n;
$fn$;
