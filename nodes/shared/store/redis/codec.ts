// Translates between the store types and what the Lua scripts take and give back: nullable text
// as script arguments, record hashes, history entries, claim replies and exceptions.
// The record and history layouts are described in lua/includes/record.lua; both read data in the
// layout before it (long field names, JSON history entries) too.

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
	ResolvedVia,
	Severity,
	TransitionKind,
	TransitionRequest,
} from '../types';

/** Script argument for nullable text: 'n' is null, 's' + text is text (so '' stays ''). */
export function nullableArg(value: string | null | undefined): string {
	return value === null || value === undefined ? 'n' : `s${value}`;
}

/** claim.lua's argument for an item's fingerprint and in-batch repeats (`r<same>,<other>,` only when there are any). */
export function claimItemArg(request: { fingerprint: string | null; repeats?: { duplicates?: number; mismatches?: number } }): string {
	const same = request.repeats?.duplicates ?? 0;
	const other = request.repeats?.mismatches ?? 0;
	const fingerprint = nullableArg(request.fingerprint);
	return same === 0 && other === 0 ? fingerprint : `r${same},${other},${fingerprint}`;
}

export const KIND_CODE: Record<TransitionKind, string> = { markProcessed: 'P', markFailed: 'F', markReceived: 'R', release: 'L' };

/** transition.lua's argument for a request's kind, verifyClaim and force: `P10` is a markProcessed that verifies the claim. */
export function transitionFlags(request: Pick<TransitionRequest, 'kind' | 'verifyClaim' | 'force'>): string {
	return `${KIND_CODE[request.kind]}${request.verifyClaim ? '1' : '0'}${request.force ? '1' : '0'}`;
}

/** The one text a transition stores: a markProcessed's result JSON, a markFailed's error message. */
export function transitionPayload(request: Pick<TransitionRequest, 'kind' | 'resultJson' | 'errorMessage'>): string | null {
	if (request.kind === 'markProcessed') return request.resultJson ?? null;
	if (request.kind === 'markFailed') return request.errorMessage ?? null;
	return null;
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

/** The record hash's one-letter fields (lua/includes/record.lua FIELD) and state letters; test/unit/redisCodes.test.ts holds every code table here to its Lua twin. */
export const NAME_OF_FIELD: Record<string, string> = {
	s: 'state',
	a: 'attempt',
	t: 'claimToken',
	g: 'fingerprint',
	r: 'result',
	e: 'lastError',
	f: 'firstSeenAt',
	l: 'lastSeenAt',
	u: 'updatedAt',
	p: 'leaseUntil',
	x: 'expiresAt',
	n: 'retentionMs',
	d: 'duplicateCount',
	w: 'workflowId',
	i: 'executionId',
};
export const STATE_OF_CODE: Record<string, RecordState> = { r: 'received', c: 'processing', p: 'processed', f: 'failed' };

/** A record hash's fields by their long names, whichever layout it was written in. */
function longNames(fields: Record<string, string>): Record<string, string> {
	if (fields.s === undefined) return fields; // written with the long names (or empty)
	const named: Record<string, string> = {};
	for (const [field, value] of Object.entries(fields)) named[NAME_OF_FIELD[field] ?? field] = value;
	named.state = STATE_OF_CODE[named.state] ?? named.state;
	return named;
}

/** A record hash (HGETALL as an object or as field/value pairs) as a KeyRecord. */
export function toRecord(
	namespace: string,
	key: string,
	hash: Record<string, string> | string[],
): KeyRecord | null {
	const fields = longNames(Array.isArray(hash) ? pairsToObject(hash) : hash);
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

/** lua/includes/record.lua EVENT_CODE and REASON_CODE, read back. */
export const EVENT_OF_CODE: Record<string, HistoryEvent> = {
	c: 'claimed',
	d: 'duplicate_seen',
	a: 'ambiguous_seen',
	p: 'processed',
	f: 'failed',
	r: 'received',
	l: 'released',
	R: 'reclaimed',
	F: 'forced',
};
export const REASON_OF_CODE: Record<string, string> = {
	a: 'first_seen',
	b: 'already_processed',
	c: 'in_progress',
	d: 'lease_expired',
	e: 'reclaimed',
	f: 'payload_mismatch',
	g: 'retry_after_failure',
	h: 'previously_failed',
	i: 'max_attempts',
	j: 'duplicate_in_batch',
	k: 'rollback',
	l: 'discard',
	m: 'replay',
	n: 'markProcessed',
	o: 'markFailed',
	p: 'markReceived',
	q: 'release',
};

const BAR = 0x7c; // '|'
const COLON = 0x3a; // ':'
const TILDE = 0x7e; // '~'
const EQUALS = 0x3d; // '='
const BRACE = 0x7b; // '{'

/** One history entry as LRANGE gives it (as bytes: the packed layout counts bytes, not characters). */
export function toHistoryEntry(stored: Buffer | string): HistoryEntry {
	const bytes = typeof stored === 'string' ? Buffer.from(stored, 'utf8') : stored;
	if (bytes[0] === BRACE) return fromJsonEntry(bytes.toString('utf8'));
	const bar = bytes.indexOf(BAR);
	const header = bytes.subarray(0, bar).toString('latin1').split(',');
	let at = bar + 1;
	/** The next text field: `~` null, `=<code>` a known reason, else `<bytes>:<text>`. */
	const next = (codes?: Record<string, string>): string | null => {
		if (at >= bytes.length) return null;
		if (bytes[at] === TILDE) {
			at += 1;
			return null;
		}
		if (codes && bytes[at] === EQUALS) {
			at += 2;
			return codes[String.fromCharCode(bytes[at - 1])] ?? null;
		}
		const colon = bytes.indexOf(COLON, at);
		const length = Number(bytes.subarray(at, colon).toString('latin1'));
		const text = bytes.subarray(colon + 1, colon + 1 + length).toString('utf8');
		at = colon + 1 + length;
		return text;
	};
	const event = EVENT_OF_CODE[header[1]] ?? (header[1] as HistoryEvent);
	const entry: HistoryEntry = {
		at: Number(header[0]),
		event,
		reason: next(REASON_OF_CODE),
		workflowId: next(),
		executionId: next(),
		node: next(),
		detail: null,
	};
	const detail = next();
	if (detail !== null) {
		entry.detail = JSON.parse(detail) as Record<string, unknown>;
		// cjson writes an empty table as {}: a Reconcile of a key with no open exception resolved none.
		const ids = entry.detail.exceptionIds;
		if (ids && typeof ids === 'object' && !Array.isArray(ids) && Object.keys(ids).length === 0) entry.detail.exceptionIds = [];
	}
	if (event === 'duplicate_seen') withRun(entry, header[2] ? Number(header[2]) : entry.at, header[3] ? Number(header[3]) : 1);
	return entry;
}

/** An entry of the first layout: one JSON object per event, a duplicate each. */
function fromJsonEntry(json: string): HistoryEntry {
	const raw = JSON.parse(json) as Record<string, unknown>;
	const text = (value: unknown) => (typeof value === 'string' ? value : null);
	const entry: HistoryEntry = {
		at: Number(raw.at),
		event: raw.event as HistoryEvent,
		reason: text(raw.reason),
		workflowId: text(raw.workflowId),
		executionId: text(raw.executionId),
		node: text(raw.node),
		detail: (raw.detail as Record<string, unknown> | undefined) ?? null,
	};
	if (entry.event === 'duplicate_seen') withRun(entry, entry.at, 1);
	return entry;
}

function withRun(entry: HistoryEntry, lastAt: number, count: number): void {
	entry.lastAt = lastAt;
	entry.count = count;
}

export const OUTCOME_OF_CODE: Record<string, Outcome | 'pending'> = { n: 'new', d: 'duplicate', a: 'ambiguous', p: 'pending' };

/**
 * One answer of claim.lua's reply (after its first element, the script's `now`); `token` is the one
 * the call sent for the item (its claim token when new). An answer that is only a code is a key
 * claimed fresh: everything else follows from `now` and the lease.
 */
export function toClaimDecision(key: string, token: string, now: number, leaseMs: number, reply: unknown): ClaimDecision {
	if (typeof reply === 'string') {
		return {
			prior: null,
			key,
			outcome: 'new',
			reason: 'first_seen',
			state: 'processing',
			attempt: 1,
			claimToken: token,
			firstSeenAt: now,
			lastSeenAt: now,
			leaseUntil: now + leaseMs,
			result: null,
		};
	}
	const [code, attempt, firstSeenAt, lastSeenAt, leaseUntil, result, prior] =
		reply as [string, number, number, number, number | null, string | null, string | null];
	const outcome = OUTCOME_OF_CODE[code[0]];
	const decision: ClaimDecision = {
		key,
		outcome,
		reason: REASON_OF_CODE[code[1]] as Reason,
		state: STATE_OF_CODE[code[2]],
		attempt: Number(attempt),
		claimToken: outcome === 'new' ? token : null,
		firstSeenAt: Number(firstSeenAt),
		lastSeenAt: Number(lastSeenAt),
		leaseUntil: leaseUntil === null || leaseUntil === undefined ? null : Number(leaseUntil),
		result: parseJson(result),
	};
	if (outcome === 'new') decision.prior = prior ? (JSON.parse(prior) as Record<string, string>) : null;
	return decision;
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
		// Resolved before resolvedVia existed: only the Resolve operation resolved then.
		resolvedVia: (text(raw.resolvedVia) ?? (raw.status === 'resolved' ? 'person' : null)) as ResolvedVia | null,
		resolvedAt: time(raw.resolvedAt),
		note: text(raw.note),
	};
}

/** An index entry's score and key: where a list page stopped (base/cursor.ts makes it a cursor). */
export interface ListCursor {
	score: number;
	key: string;
}
