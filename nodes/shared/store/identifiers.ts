// Validation of names that reach a store: the Postgres schema (an identifier, never interpolated
// raw), namespaces and keys (any text, bounded), the Redis key prefix.

import { InvalidInputError } from './errors';

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;

export function validateSchemaName(schema: unknown): string {
	const value = typeof schema === 'string' ? schema.trim() : '';
	// pg_* and information_schema belong to Postgres itself.
	if (!SCHEMA.test(value) || value.startsWith('pg_') || value === 'information_schema') {
		throw new InvalidInputError(
			`Schema name "${String(schema)}" is not allowed`,
			'Use 1–63 lowercase letters, digits and underscores, starting with a letter or underscore and not with pg_ (for example n8n_idempotency).',
		);
	}
	return value;
}

/** Quotes an identifier that has already passed validateSchemaName. */
export function quoteIdentifier(identifier: string): string {
	return `"${identifier.replace(/"/g, '""')}"`;
}

export const MAX_NAMESPACE_LENGTH = 200;

export function validateNamespace(namespace: unknown): string {
	if (typeof namespace !== 'string' && typeof namespace !== 'number') {
		throw new InvalidInputError(
			'Namespace must be text',
			'Set Namespace to a name such as crm-leads, or leave the default {{ $workflow.id }}.',
		);
	}
	const value = String(namespace).trim();
	if (value.length === 0) {
		throw new InvalidInputError(
			'Namespace is empty',
			'Set Namespace to a name such as crm-leads, or leave the default {{ $workflow.id }}.',
		);
	}
	if (value.length > MAX_NAMESPACE_LENGTH) {
		throw new InvalidInputError(
			`Namespace is ${value.length} characters long; at most ${MAX_NAMESPACE_LENGTH} are allowed`,
			'Use a short, stable name such as crm-leads.',
		);
	}
	if (hasControlCharacters(value) || hasLoneSurrogate(value)) {
		throw new InvalidInputError('Namespace contains control characters or broken Unicode', 'Use printable text.');
	}
	return value;
}

export const KEY_PREFIX = /^[A-Za-z0-9_:.\-]{0,64}$/;

export function validateKeyPrefix(prefix: unknown): string {
	const value = typeof prefix === 'string' ? prefix : '';
	if (!KEY_PREFIX.test(value)) {
		throw new InvalidInputError(
			`Key prefix "${String(prefix)}" is not allowed`,
			'Use up to 64 letters, digits, "_", "-", "." and ":" (for example idem:).',
		);
	}
	return value;
}

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function hasControlCharacters(value: string): boolean {
	return CONTROL.test(value);
}

export function hasLoneSurrogate(value: string): boolean {
	return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(value);
}
