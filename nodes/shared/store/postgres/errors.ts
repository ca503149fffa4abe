// What a failed Postgres (or embedded) call means: a connection that could not be made or broke
// is StoreUnavailableError, in words — n8n replaces messages that carry raw socket codes with a
// generic text —; a value Postgres cannot store (NUL in text or JSON, an index entry too long) is
// InvalidInputError saying which and what to do; anything else Postgres refused is
// IdempotencyError with its message.

import { IdempotencyError, InvalidInputError, StoreUnavailableError } from '../errors';

// Connection-level failures: the store could not be reached or the connection broke mid-call.
const UNAVAILABLE_CODES = new Set([
	'ECONNREFUSED',
	'ECONNRESET',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ETIMEDOUT',
	'EHOSTUNREACH',
	'EPIPE',
	'57P01', // admin_shutdown (pg_terminate_backend)
	'57P02',
	'57P03', // cannot_connect_now
	'08000',
	'08003',
	'08006',
	'08001',
	'08004',
]);

const CONNECTION_LOST =
	/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** `name`: "Postgres" or "The embedded store"; `where`: "host:port" or the data folder. */
export function translatePostgresError(error: unknown, name: string, where: string, doing: string): Error {
	if (error instanceof IdempotencyError) return error;
	const err = error as { code?: string; message?: string };
	const message = err?.message ?? String(error);
	if ((err?.code && UNAVAILABLE_CODES.has(err.code)) || CONNECTION_LOST.test(message)) {
		return new StoreUnavailableError(
			`${name} at ${where} is unavailable while ${doing} (${describeConnectionFailure(err?.code, message)})`,
			{ cause: error },
		);
	}
	const unstorable = unstorableValue(err?.code, message);
	if (unstorable) {
		return Object.assign(new InvalidInputError(`${name} cannot store a value while ${doing}: ${unstorable.what} (${message})`, unstorable.fix), {
			cause: error,
		});
	}
	return new IdempotencyError(`${name} failed while ${doing}: ${message}`, { cause: error });
}

/**
 * The values the checks of base/checks.ts cannot see coming: a NUL character in a text (an error
 * message, an owner) or in a result's JSON — Postgres text and jsonb cannot hold U+0000 —, and an
 * index entry over Postgres's limit (a long exception reason with a long key).
 */
function unstorableValue(code: string | undefined, message: string): { what: string; fix: string } | null {
	if (code === '22021' && /0x00/.test(message)) {
		return { what: 'a text contains a NUL character (\\u0000), which Postgres text cannot hold', fix: 'Remove NUL characters from the texts you pass (error message, owner, route, note).' };
	}
	if (code === '22P05' || (code === '22P02' && /\\u0000/.test(message))) {
		return { what: 'the result contains a NUL character (\\u0000), which Postgres JSON cannot hold', fix: 'Remove NUL characters from the result, or store only the fields a duplicate needs (an ID, a status).' };
	}
	if (code === '54000' && /index row/i.test(message)) {
		return { what: 'a name is too long for an index entry', fix: 'Use shorter keys, namespaces and exception reasons.' };
	}
	return null;
}

function describeConnectionFailure(code: string | undefined, message: string): string {
	switch (code) {
		case 'ECONNREFUSED':
			return 'connection refused: is the server running and the port right?';
		case 'ENOTFOUND':
		case 'EAI_AGAIN':
			return 'host name not found';
		case 'ETIMEDOUT':
		case 'EHOSTUNREACH':
			return 'no answer from the host';
		case '57P01':
		case '57P02':
			return 'the server terminated the connection';
		case '57P03':
			return 'the server is starting up or shutting down';
		default:
			return message.replace(/\bE[A-Z]{4,}\b\s*/g, '').trim() || 'connection lost';
	}
}
