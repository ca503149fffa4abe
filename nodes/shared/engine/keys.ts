// Business keys (docs/CONTRACT.md §5, control 1): read the configured fields of an item, normalise them, and
// join them into one key; hash it when it is long, unsafe to store, or when hashKeys is on.
// Pure: no I/O, no n8n types.

import { createHash } from 'crypto';

export type NormalizeStep = 'trim' | 'collapseWhitespace' | 'unicodeNfkc' | 'lowercase';
export const DEFAULT_NORMALIZE: NormalizeStep[] = ['trim', 'collapseWhitespace', 'unicodeNfkc'];
export const MAX_PLAIN_KEY_LENGTH = 256;

export type KeyResult =
	| {
			ok: true;
			key: string;
			/**
			 * The key earlier versions stored for this text, when it differs from `key`: a plain key in
			 * the hashed form was stored as written (see legacyKeyOf).
			 */
			legacyKey?: string;
	  }
	| { ok: false; problem: string };

/** Splits "body.email, body.source" into paths; each path into segments (dots, [n] indices). */
export function parseFieldList(list: string): string[] {
	return list
		.split(',')
		.map((field) => field.trim())
		.filter((field) => field.length > 0);
}

export function pathSegments(path: string): string[] {
	const segments: string[] = [];
	for (const part of path.split('.')) {
		const match = part.match(/^([^[\]]*)((?:\[\d+\])*)$/);
		if (!match) {
			segments.push(part);
			continue;
		}
		if (match[1]) segments.push(match[1]);
		for (const index of match[2].matchAll(/\[(\d+)\]/g)) segments.push(index[1]);
	}
	return segments;
}

export function readPath(source: unknown, path: string): unknown {
	let value: unknown = source;
	for (const segment of pathSegments(path)) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[segment];
	}
	return value;
}

export function normalizeText(value: string, steps: readonly NormalizeStep[]): string {
	let text = value;
	if (steps.includes('unicodeNfkc')) text = text.normalize('NFKC');
	if (steps.includes('collapseWhitespace')) text = text.replace(/\s+/g, ' ');
	if (steps.includes('trim')) text = text.trim();
	if (steps.includes('lowercase')) text = text.toLowerCase();
	return text;
}

/**
 * One key part from one value. Numbers are written canonically (1.50 and 1.5 are one key);
 * null, undefined and empty strings are missing; objects cannot be keys.
 */
export function keyPart(value: unknown, steps: readonly NormalizeStep[]): { ok: true; part: string } | { ok: false; problem: string } {
	if (value === null || value === undefined) return { ok: false, problem: 'is missing' };
	if (typeof value === 'number') {
		if (!Number.isFinite(value)) return { ok: false, problem: `is not a finite number (${String(value)})` };
		return { ok: true, part: String(Object.is(value, -0) ? 0 : value) };
	}
	if (typeof value === 'bigint') return { ok: true, part: value.toString() };
	if (typeof value === 'boolean') return { ok: true, part: String(value) };
	if (typeof value === 'string') {
		const part = normalizeText(value, steps);
		return part.length === 0 ? { ok: false, problem: 'is empty' } : { ok: true, part };
	}
	const kind = Array.isArray(value) ? 'a list' : 'an object';
	return { ok: false, problem: `is ${kind}, not a single value (pick a field inside it)` };
}

// Parts are joined with "|"; a "|" or "\" inside a part is escaped so that ("a|b", "c") and
// ("a", "b|c") stay two keys.
function joinParts(parts: string[]): string {
	return parts.map((part) => part.replace(/[\\|]/g, (c) => `\\${c}`)).join('|');
}

export function buildKeyFromFields(
	json: unknown,
	fields: readonly string[],
	steps: readonly NormalizeStep[],
	hashKeys: boolean,
): KeyResult {
	const parts: string[] = [];
	const problems: string[] = [];
	for (const field of fields) {
		const result = keyPart(readPath(json, field), steps);
		if (result.ok) parts.push(result.part);
		else problems.push(`field "${field}" ${result.problem}`);
	}
	if (problems.length > 0) return { ok: false, problem: problems.join('; ') };
	return finished(joinParts(parts), hashKeys);
}

export function buildKeyFromValue(value: unknown, steps: readonly NormalizeStep[], hashKeys: boolean): KeyResult {
	const result = keyPart(value, steps);
	if (!result.ok) return { ok: false, problem: `the key expression ${result.problem}` };
	return finished(result.part, hashKeys);
}

function finished(text: string, hashKeys: boolean): KeyResult {
	const key = finishKey(text, hashKeys);
	const legacyKey = legacyKeyOf(text, hashKeys);
	return legacyKey === null ? { ok: true, key } : { ok: true, key, legacyKey };
}

const UNSTORABLE = /[\u0000]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What every hashed key looks like (finishKey). */
const HASHED_FORM = /^sha256:[0-9a-f]{64}$/;

export function isHashedForm(key: string): boolean {
	return HASHED_FORM.test(key);
}

/**
 * Long keys, keys a store cannot hold as text (NUL, broken Unicode), with hashKeys every key, and
 * a plain key that has the hashed form itself: stored as written it could equal another event's
 * hashed key, and a crafted delivery would receive that event's result. Hashing it again makes
 * that impossible: no stored plain key can equal a hashed key (docs/CONTRACT.md §12).
 */
export function finishKey(key: string, hashKeys: boolean): string {
	if (UNSTORABLE.test(key)) return `sha256:${sha256Hex(JSON.stringify(key))}`;
	if (hashKeys || key.length > MAX_PLAIN_KEY_LENGTH || HASHED_FORM.test(key)) return `sha256:${sha256Hex(key)}`;
	return key;
}

/**
 * The key versions before the rule above stored for `text`, when it differs from finishKey's: a
 * plain key in the hashed form was stored as written. A record under it is either this event,
 * delivered before the upgrade, or another event whose hashed key is this text — the Guard cannot
 * tell which, so it lets a person decide (claims.ts, legacyConflicts). Null when nothing changed.
 */
export function legacyKeyOf(text: string, hashKeys: boolean): string | null {
	return !hashKeys && HASHED_FORM.test(text) ? text : null;
}

/**
 * An explicit key of the Ledger or the Router, taken as written (no trimming, no normalising):
 * the key the Guard stored (its _idempotency.key, sha256:… when hashed) addresses that record; a
 * text the Guard would never store as it is — longer than 256 characters, or not storable — is
 * hashed exactly as finishKey does.
 */
export function storedKeyOf(text: string): string {
	return HASHED_FORM.test(text) ? text : finishKey(text, false);
}

export function sha256Hex(text: string): string {
	return createHash('sha256').update(text, 'utf8').digest('hex');
}
