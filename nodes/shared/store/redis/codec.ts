// Translates between the store types and what the Lua scripts take and give back: nullable text
// as script arguments, record hashes, history entries, claim replies and exceptions.

import type {
	ClaimDecision,
	ExceptionRecord,
	HistoryEntry,
	HistoryEvent,
	KeyRecord,
	Outcome,
	Reason,
	RecordState,
	Resolution,
	Severity,
} from '../types';

/** Script argument for nullable text: 'n' is null, 's' + text is text (so '' stays ''). */
export function nullableArg(value: string | null | undefined): string {
	return value === null || value === undefined ? 'n' : `s${value}`;
}

/** A stored JSON text back as a value; text that is not JSON is handed back as it is. */
function parseJson(text: string | null | undefined): unknown {
	if (text === null || text === undefined) return null;
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

const numOrNull = (value: string | null | undefined): number | null =>
	value === null || value === undefined ? null : Number(value);

/** A record hash (HGETALL as an object or as field/value pairs) as a KeyRecord. */
export function toRecord(
	namespace: string,
	key: string,
	hash: Record<string, string> | string[],
): KeyRecord | null {
	const fields: Record<string, string> = Array.isArray(hash) ? pairsToObject(hash) : hash;
	if (fields.state === undefined) return null;
	return {
		namespace,
		key,
		state: fields.state as RecordState,
		attempt: Number(fields.attempt ?? 0),
		claimToken: fields.claimToken ?? null,
		fingerprint: fields.fingerprint ?? null,
		result: parseJson(fields.result),
		lastError: fields.lastError ?? null,
		firstSeenAt: Number(fields.firstSeenAt),
		lastSeenAt: Number(fields.lastSeenAt),
		updatedAt: Number(fields.updatedAt),
		leaseUntil: numOrNull(fields.leaseUntil),
		expiresAt: numOrNull(fields.expiresAt),
		duplicateCount: Number(fields.duplicateCount ?? 0),
		workflowId: fields.workflowId ?? null,
		executionId: fields.executionId ?? null,
	};
}

function pairsToObject(pairs: string[]): Record<string, string> {
	const object: Record<string, string> = {};
	for (let i = 0; i + 1 < pairs.length; i += 2) object[pairs[i]] = pairs[i + 1];
	return object;
}

export function toHistoryEntry(json: string): HistoryEntry {
	const raw = JSON.parse(json) as Record<string, unknown>;
	const text = (value: unknown) => (typeof value === 'string' ? value : null);
	return {
		at: Number(raw.at),
		event: raw.event as HistoryEvent,
		reason: text(raw.reason),
		workflowId: text(raw.workflowId),
		executionId: text(raw.executionId),
		node: text(raw.node),
		detail: (raw.detail as Record<string, unknown> | undefined) ?? null,
	};
}

/** One item of claim.lua's reply. */
export function toClaimDecision(key: string, reply: unknown): ClaimDecision {
	const [outcome, reason, state, attempt, claimToken, firstSeenAt, lastSeenAt, leaseUntil, result, prior] =
		reply as [string, string, string, number, string | null, number, number, number | null, string | null, string | null];
	return {
		...(outcome === 'new' ? { prior: prior ? (JSON.parse(prior) as Record<string, string>) : null } : {}),
		key,
		outcome: outcome as Outcome | 'pending',
		reason: reason as Reason,
		state: state as RecordState,
		attempt: Number(attempt),
		claimToken: claimToken ?? null,
		firstSeenAt: Number(firstSeenAt),
		lastSeenAt: Number(lastSeenAt),
		leaseUntil: leaseUntil === null || leaseUntil === undefined ? null : Number(leaseUntil),
		result: parseJson(result),
	};
}

/** An exception as the scripts store it (includes/exceptions.lua): null fields left out. */
export function toException(json: string): ExceptionRecord {
	const raw = JSON.parse(json) as Record<string, unknown>;
	const text = (value: unknown) => (typeof value === 'string' ? value : null);
	const time = (value: unknown) => (value === undefined || value === null ? null : Number(value));
	return {
		id: String(raw.id),
		namespace: String(raw.namespace),
		key: String(raw.key),
		reason: String(raw.reason),
		owner: String(raw.owner),
		severity: raw.severity as Severity,
		route: String(raw.route),
		status: raw.status === 'resolved' ? 'resolved' : 'open',
		// Exceptions recorded before incidents existed have neither field.
		reasons: Array.isArray(raw.reasons) && raw.reasons.length > 0 ? raw.reasons.map(String) : [String(raw.reason)],
		groupBy: raw.groupBy === 'key' ? 'key' : 'keyAndReason',
		occurrences: Number(raw.occurrences),
		firstSeenAt: Number(raw.firstSeenAt),
		lastSeenAt: Number(raw.lastSeenAt),
		workflowId: text(raw.workflowId),
		executionId: text(raw.executionId),
		resolution: text(raw.resolution) as Resolution | null,
		resolvedBy: text(raw.resolvedBy),
		resolvedAt: time(raw.resolvedAt),
		note: text(raw.note),
	};
}

/** An index entry's score and key: where a list page stopped (base/cursor.ts makes it a cursor). */
export interface ListCursor {
	score: number;
	key: string;
}
