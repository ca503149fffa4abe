-- Reads a report's figures (store/report.ts builds the buckets): the hourly counters of
-- event_counts (migration 007) from the first hour to the last, the exceptions opened and
-- resolved in those hours (with how they were resolved and how long they were open), and the
-- open exceptions now with the oldest of them. Reads only; nothing on the write path is added
-- but the `retry` reason of a processed event (sql/transition.sql). An exception resolved before
-- migration 009 has no resolved_via and reads `person`, as everywhere else.
-- $1 namespace text, null = every namespace   $2 first hour (epoch ms)   $3 last hour, included
-- Returns rows (kind, at, event, reason, n, open_ms, namespace, key, id):
--   'count'    hour, event, reason, n              an hour's counted events
--   'opened'   hour, n                             exceptions first seen in that hour
--   'resolved' resolved_at, resolved_via as event, open_ms = resolved_at - first_seen_at (≥ 0,
--              as on Redis: a clock that went back counts 0)
--   'open'     n                                   exceptions open now
--   'oldest'   first_seen_at, namespace, key, id   the exception open longest (none when none is)
SELECT 'count' AS kind, c.hour AS at, c.event, c.reason, sum(c.n)::bigint AS n, NULL::bigint AS open_ms,
	NULL::text AS namespace, NULL::text AS key, NULL::text AS id
FROM {{schema}}.event_counts c
WHERE ($1::text IS NULL OR c.namespace = $1) AND c.hour >= $2::bigint AND c.hour <= $3::bigint
GROUP BY c.hour, c.event, c.reason
UNION ALL
SELECT 'opened', e.first_seen_at - e.first_seen_at % 3600000, NULL, NULL, count(*)::bigint, NULL, NULL, NULL, NULL
FROM {{schema}}.exceptions e
WHERE ($1::text IS NULL OR e.namespace = $1) AND e.first_seen_at >= $2::bigint AND e.first_seen_at < $3::bigint + 3600000
GROUP BY 2
UNION ALL
SELECT 'resolved', e.resolved_at, coalesce(e.resolved_via, 'person'), NULL, 1, greatest(e.resolved_at - e.first_seen_at, 0), NULL, NULL, NULL
FROM {{schema}}.exceptions e
WHERE ($1::text IS NULL OR e.namespace = $1) AND e.status = 'resolved'
	AND e.resolved_at >= $2::bigint AND e.resolved_at < $3::bigint + 3600000
UNION ALL
SELECT 'open', NULL, NULL, NULL, count(*)::bigint, NULL, NULL, NULL, NULL
FROM {{schema}}.exceptions e
WHERE ($1::text IS NULL OR e.namespace = $1) AND e.status = 'open'
UNION ALL
(SELECT 'oldest', e.first_seen_at, NULL, NULL, NULL, NULL, e.namespace, e.key, e.id::text
FROM {{schema}}.exceptions e
WHERE ($1::text IS NULL OR e.namespace = $1) AND e.status = 'open'
ORDER BY e.first_seen_at, e.id
LIMIT 1);
