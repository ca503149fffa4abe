// Payload fingerprints (docs/CONTRACT.md §5): canonical JSON (object keys sorted, undefined dropped) hashed
// with SHA-256, so that a retry with the same payload matches and a changed payload does not.

import { readPath, sha256Hex } from './keys';

export function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== 'object') {
		if (typeof value === 'bigint') return JSON.stringify(value.toString());
		const text = JSON.stringify(value);
		return text === undefined ? 'null' : text;
	}
	if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
		return canonicalJson((value as { toJSON: () => unknown }).toJSON());
	}
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	const entries = Object.keys(value)
		.filter((key) => (value as Record<string, unknown>)[key] !== undefined)
		.sort()
		.map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
	return `{${entries.join(',')}}`;
}

/** The whole item json, less the Guard's own metadata. */
export function fingerprintItem(json: Record<string, unknown>): string {
	const rest = { ...json };
	delete rest._idempotency;
	return sha256Hex(canonicalJson(rest));
}

/** Only the listed fields, by path. A missing field counts as null. */
export function fingerprintFields(json: unknown, fields: readonly string[]): string {
	const picked: Record<string, unknown> = {};
	for (const field of fields) picked[field] = readPath(json, field) ?? null;
	return sha256Hex(canonicalJson(picked));
}
