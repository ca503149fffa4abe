// What a failed Redis call means, in words a user can act on. Redis answers a call it will not
// serve with an error reply whose first word names why (READONLY, OOM, NOPERM, BUSY…); each kind
// gets its own message and fix instead of one "Redis is unavailable, check host and port".

import { IdempotencyError, StoreUnavailableError } from '../errors';

const CREDENTIAL = 'the Idempotency Store (Redis) credential';

interface Refusal {
	/** What happened, after "<target> …". */
	what: string;
	hint: string;
}

/** One entry per error-reply kind that means "Redis cannot serve this now, or not to this user". */
const REFUSALS: Record<string, (detail: string) => Refusal> = {
	READONLY: () => ({
		what: 'is a read-only replica (READONLY)',
		hint: `The credential is connected to a replica; point ${CREDENTIAL} at the primary (on a managed service, its primary endpoint).`,
	}),
	OOM: () => ({
		what: "is out of memory (OOM: used memory is above 'maxmemory')",
		hint: 'Nothing was written. Raise maxmemory, free memory (purge expired keys, shorter retention, other data), or use a larger instance.',
	}),
	NOPERM: (detail) => ({
		what: `does not let this user do it (NOPERM: ${detail})`,
		hint:
			'Grant the ACL user of the credential the commands and the keys under its key prefix, e.g. ' +
			'ACL SETUSER <user> on ~<prefix>* +@read +@write +@scripting +ping +time +info +config|get.',
	}),
	BUSY: () => ({
		what: 'is busy running a long script (BUSY)',
		hint: 'Retry later. A script or function on this Redis runs longer than busy-reply-threshold; end it (SCRIPT KILL / FUNCTION KILL) or ask whoever runs it.',
	}),
	LOADING: () => ({
		what: 'is still loading its data set after a restart (LOADING)',
		hint: 'Retry in a moment: Redis answers again once the data is loaded.',
	}),
	MASTERDOWN: () => ({
		what: 'is a replica that lost its primary (MASTERDOWN)',
		hint: `Point ${CREDENTIAL} at the primary, or bring the primary back.`,
	}),
	CLUSTERDOWN: () => ({
		what: 'is a Redis Cluster that is down or has slots no node serves (CLUSTERDOWN)',
		hint: 'Check the cluster (redis-cli --cluster check): every hash slot needs a master that is up.',
	}),
	TRYAGAIN: () => ({
		what: 'is moving the keys of this namespace between cluster nodes (TRYAGAIN)',
		hint: 'Retry in a moment, once the resharding of the slot is done.',
	}),
	MISCONF: () => ({
		what: 'refuses writes because it cannot save to disk (MISCONF)',
		hint: 'Fix the disk or the RDB/AOF settings of this Redis (see its log); writes are refused until it can persist again.',
	}),
	WRONGPASS: () => ({
		what: 'refused the login (WRONGPASS: wrong username or password, or the user is disabled)',
		hint: `Check the username and password in ${CREDENTIAL}.`,
	}),
	NOAUTH: () => ({
		what: 'requires a password (NOAUTH)',
		hint: `Set the password (and, with ACL users, the username) in ${CREDENTIAL}.`,
	}),
};

const KIND = /^([A-Z]+)\b\s*(.*)$/s;

/** The kind of a Redis error reply (`READONLY`, `OOM`, …) when it is one we translate. */
export function refusalKind(message: string): string | null {
	const kind = KIND.exec(message)?.[1];
	return kind && kind in REFUSALS ? kind : null;
}

/**
 * The error a store call throws: StoreUnavailableError when Redis could not be reached or would
 * not serve the call (with its kind and fix), IdempotencyError when Redis refused the call itself.
 */
export function translateError(
	error: unknown,
	target: string,
	doing: string,
	lastConnectionError: Error | null,
): Error {
	if (error instanceof IdempotencyError) return error;
	const err = error as { name?: string; message?: string } | null;
	const message = err?.message ?? String(error);
	// ioredis reports a server it cannot reach as "max retries reached"; the socket error says why.
	const why =
		lastConnectionError?.message && (err?.name === 'MaxRetriesPerRequestError' || /Connection is closed/.test(message))
			? lastConnectionError.message
			: message;
	const kind = refusalKind(why);
	if (kind) {
		const { what, hint } = REFUSALS[kind](KIND.exec(why)?.[2] ?? '');
		return new StoreUnavailableError(`${target} ${what} while ${doing}`, { cause: error, kind, hint });
	}
	if (/^Command timed out$/.test(message)) {
		// ioredis gave up waiting for the reply: Redis is reachable but did not answer in time.
		const hint =
			'Redis is reachable but answered too late: it may be blocked by a slow command or script (see SLOWLOG GET, LATENCY DOCTOR), ' +
			'saving to a slow disk, swapping, or the network is congested. A write may have happened anyway: a claim shows up as in_progress, ' +
			'then lease_expired, on the next delivery.';
		return new StoreUnavailableError(`${target} did not answer in time while ${doing} (the command timed out). ${hint}`, {
			cause: error,
			kind: 'timeout',
			hint,
		});
	}
	if (err?.name === 'ReplyError') {
		return new IdempotencyError(`${target} refused ${doing}: ${message}`, { cause: error });
	}
	const hint = `Check that Redis is running and that host, port, username, password and TLS in ${CREDENTIAL} are right.`;
	return new StoreUnavailableError(`${target} is unavailable while ${doing}: ${why}`, {
		cause: error,
		kind: 'connection',
		hint,
	});
}
