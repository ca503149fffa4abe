// The input checks every store applies before it touches its database (BaseStore.ts): a value
// the contract does not allow is an InvalidInputError that names it, on every store alike, and
// nothing is written.

import { InvalidInputError } from '../errors';
import { hasLoneSurrogate } from '../identifiers';
import {
	MAX_LIMIT,
	MAX_RESULT_BYTES,
	POLICY_CHOICES,
	RECORD_STATES,
	RESOLUTIONS,
	RESOLVED_VIA,
	SEVERITIES,
	TRANSITION_KINDS,
	type Actor,
	type ClaimPolicy,
	type OpenExceptionRequest,
	type RecordState,
	type ResolvedVia,
} from '../types';

/** The longest lease or retention (1000 years); the Redis scripts refuse longer ones too. */
export const MAX_DURATION_MS = 31_557_600_000_000;
export const DEFAULT_LIMIT = 100;

/** A page size: whole, 1 to 1000, the default when absent or 0. */
export function clampLimit(limit: number | undefined | null): number {
	return Math.max(1, Math.min(MAX_LIMIT, Math.floor(Number(limit) || DEFAULT_LIMIT)));
}

export function requireNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
	if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
		const range = max < Infinity ? ` from ${min} to ${max}` : min > -Infinity ? ` of at least ${min}` : '';
		throw new InvalidInputError(`${name} must be a number${range}`);
	}
	return value;
}

/** A test's clock override, whole ms; undefined = the store's own clock. */
export function checkNow(now: number | undefined): number | null {
	return now === undefined ? null : Math.round(requireNumber('now', now));
}

export function textOrNull(name: string, value: unknown): string | null {
	if (value === null || value === undefined) return null;
	if (typeof value !== 'string') throw new InvalidInputError(`The ${name} must be text or null`);
	return value;
}

/**
 * The longest namespace or key a store takes, in UTF-8 bytes. Postgres indexes (namespace, key)
 * and (namespace, key, reason), and an index entry holds at most ~2,700 bytes: two names of this
 * size and a reason fit, whatever the text. The nodes never come near it: a key over 256
 * characters is hashed (engine/keys.ts), a namespace has at most 200 characters.
 */
export const MAX_NAME_BYTES = 1024;

/** A name as an error message quotes it: its first 40 characters. */
function quoted(value: string): string {
	return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/**
 * A namespace or key: text that survives the trip to every store unchanged, and that every store
 * can hold — refused alike on each, so that a workflow can move between stores. A lone surrogate
 * becomes U+FFFD in UTF-8, so two such keys would become one; Postgres text cannot hold NUL
 * (U+0000); an index entry cannot hold more than MAX_NAME_BYTES per name.
 */
export function checkName(what: 'namespace' | 'key', value: unknown): string {
	if (typeof value !== 'string') throw new InvalidInputError(`The ${what} must be text`);
	if (what === 'namespace' && value.length === 0) throw new InvalidInputError('The namespace is empty');
	if (hasLoneSurrogate(value)) {
		throw new InvalidInputError(`The ${what} contains broken Unicode (a lone surrogate)`, 'Use valid text.');
	}
	if (value.includes('\u0000')) {
		throw new InvalidInputError(
			`The ${what} ${quoted(value)} contains a NUL character (\\u0000), which a store cannot keep as text`,
			what === 'key'
				? 'Remove it from the key, or let the Guard build the key (Key Fields): it hashes a key it cannot store as written.'
				: 'Remove it from the namespace.',
		);
	}
	const bytes = Buffer.byteLength(value, 'utf8');
	if (bytes > MAX_NAME_BYTES) {
		throw new InvalidInputError(
			`The ${what} ${quoted(value)} is ${bytes} bytes long; a store takes at most ${MAX_NAME_BYTES}`,
			what === 'key'
				? 'Use a shorter key — the event id rather than the whole payload — or turn on the Guard\'s Hash Keys option.'
				: 'Use a shorter namespace.',
		);
	}
	return value;
}

export function checkActor(actor: Actor): Actor {
	return {
		workflowId: textOrNull('workflow id', actor?.workflowId),
		executionId: textOrNull('execution id', actor?.executionId),
		node: textOrNull('node name', actor?.node),
	};
}

export function checkPolicy(policy: ClaimPolicy): void {
	requireNumber('leaseMs', policy.leaseMs, 1, MAX_DURATION_MS);
	requireNumber('retentionMs', policy.retentionMs, 0, MAX_DURATION_MS);
	requireNumber('maxAttempts', policy.maxAttempts, 0, 1e12);
	for (const [name, choices] of Object.entries(POLICY_CHOICES) as Array<[keyof typeof POLICY_CHOICES, readonly string[]]>) {
		const value = policy[name];
		if (!choices.includes(value)) {
			throw new InvalidInputError(`${name} must be one of ${choices.join(', ')}, got "${String(value)}"`);
		}
	}
}

/** How many repeats of a key a claim records: a whole number, 0 when absent. */
export function repeatCount(name: string, value: number | undefined): number {
	return value === undefined ? 0 : Math.floor(requireNumber(name, value, 0));
}

export function checkState(state: unknown): RecordState | null {
	if (state === null || state === undefined) return null;
	if (!(RECORD_STATES as readonly unknown[]).includes(state)) throw new InvalidInputError(`Unknown state "${String(state)}"`);
	return state as RecordState;
}

export function checkTransitionKind(kind: unknown): void {
	if (!(TRANSITION_KINDS as readonly unknown[]).includes(kind)) throw new InvalidInputError(`Unknown transition "${String(kind)}"`);
}

export function checkResolution(resolution: unknown): void {
	if (!(RESOLUTIONS as readonly unknown[]).includes(resolution)) {
		throw new InvalidInputError(`Resolution "${String(resolution)}" is not one of ${RESOLUTIONS.join(', ')}`);
	}
}

/** Who resolved: `person` when absent. */
export function checkResolvedVia(value: unknown): ResolvedVia {
	if (value === undefined || value === null) return 'person';
	if (!(RESOLVED_VIA as readonly unknown[]).includes(value)) {
		throw new InvalidInputError(`resolvedVia "${String(value)}" is not one of ${RESOLVED_VIA.join(', ')}`);
	}
	return value as ResolvedVia;
}

export function checkExceptionRequest(request: OpenExceptionRequest): void {
	checkName('key', request.key);
	for (const field of ['reason', 'owner', 'route'] as const) {
		if (typeof request[field] !== 'string') throw new InvalidInputError(`The exception's ${field} must be text`);
	}
	if (!(SEVERITIES as readonly unknown[]).includes(request.severity)) {
		throw new InvalidInputError(`Severity "${String(request.severity)}" is not one of ${SEVERITIES.join(', ')}`);
	}
	if (request.groupBy !== undefined && request.groupBy !== 'key' && request.groupBy !== 'keyAndReason') {
		throw new InvalidInputError(`groupBy must be keyAndReason or key, got "${String(request.groupBy)}"`);
	}
}

/** A result to store: JSON text of at most 64 KB, or null. */
export function checkResultJson(value: unknown): string | null {
	const text = textOrNull('result', value);
	if (text === null) return null;
	const bytes = Buffer.byteLength(text, 'utf8');
	if (bytes > MAX_RESULT_BYTES) {
		throw new InvalidInputError(`The result is ${bytes} bytes; at most ${MAX_RESULT_BYTES} are allowed`, 'Store only what later duplicates need, e.g. the record id.');
	}
	try {
		JSON.parse(text);
	} catch {
		throw new InvalidInputError('The result is not valid JSON', 'Pass the result as a JSON object, e.g. {"contactId": "c-1"}.');
	}
	return text;
}
