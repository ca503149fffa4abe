// Postgres rows as the store types: records, history events, exceptions. Columns are snake_case,
// times bigint (pg hands them over as text), nullable columns null.

import type { QueryResultRow } from 'pg';
import type { ClaimDecision, ExceptionRecord, HistoryEntry, KeyRecord, RecordImage } from '../types';

export const num = (value: unknown): number => Number(value);
export const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export function toRecord(row: QueryResultRow): KeyRecord {
	return {
		namespace: row.namespace,
		key: row.key,
		state: row.state,
		attempt: num(row.attempt),
		claimToken: row.claim_token ?? null,
		fingerprint: row.fingerprint ?? null,
		result: row.result ?? null,
		lastError: row.last_error ?? null,
		firstSeenAt: num(row.first_seen_at),
		lastSeenAt: num(row.last_seen_at),
		updatedAt: num(row.updated_at),
		leaseUntil: numOrNull(row.lease_until),
		expiresAt: numOrNull(row.expires_at),
		duplicateCount: num(row.duplicate_count),
		workflowId: row.workflow_id ?? null,
		executionId: row.execution_id ?? null,
	};
}

/** A row of claim.sql: `decision` is `<outcome>:<reason>`; `prior` only matters for a new claim. */
export function toClaimDecision(key: string, row: QueryResultRow): ClaimDecision {
	const [outcome, reason] = String(row.decision).split(':');
	return {
		key,
		outcome: outcome as ClaimDecision['outcome'],
		reason: reason as ClaimDecision['reason'],
		state: row.state,
		attempt: num(row.attempt),
		claimToken: outcome === 'new' ? String(row.claim_token) : null,
		firstSeenAt: num(row.first_seen_at),
		lastSeenAt: num(row.last_seen_at),
		leaseUntil: numOrNull(row.lease_until),
		result: row.result ?? null,
		...(outcome === 'new' ? { prior: (row.prior ?? null) as RecordImage | null } : {}),
	};
}

export function toHistoryEntry(row: QueryResultRow): HistoryEntry {
	return {
		at: num(row.at),
		event: row.event,
		reason: row.reason,
		workflowId: row.workflow_id,
		executionId: row.execution_id,
		node: row.node,
		detail: row.detail ?? null,
		// A run of duplicates (migration 007); a row written before runs existed is a run of one.
		...(row.event === 'duplicate_seen' ? { lastAt: num(row.last_at ?? row.at), count: num(row.count ?? 1) } : {}),
	};
}

export function toException(row: QueryResultRow): ExceptionRecord {
	return {
		id: row.id,
		namespace: row.namespace,
		key: row.key,
		reason: row.reason,
		owner: row.owner,
		severity: row.severity,
		route: row.route,
		status: row.status,
		reasons: row.reasons ?? [row.reason],
		groupBy: row.group_by === 'key' ? 'key' : 'keyAndReason',
		occurrences: num(row.occurrences),
		firstSeenAt: num(row.first_seen_at),
		lastSeenAt: num(row.last_seen_at),
		workflowId: row.workflow_id ?? null,
		executionId: row.execution_id ?? null,
		resolution: row.resolution ?? null,
		resolvedBy: row.resolved_by ?? null,
		// Resolved before migration 009: only the Resolve operation resolved then.
		resolvedVia: row.resolved_via ?? (row.status === 'resolved' ? 'person' : null),
		resolvedAt: numOrNull(row.resolved_at),
		note: row.note ?? null,
	};
}
