// Every error the store layer raises. Each carries a message a user can act on — what went wrong —
// and, apart, a hint — how to fix it — never glued into the message; the node layer
// (n8n/errors.ts) shows the hint as the error's description and keeps it next to the message
// wherever the message goes. `messageWithHint` is for a place that shows one text only.

export class IdempotencyError extends Error {
	/** How to fix it, in the user's words; undefined when there is nothing specific to say. */
	readonly hint?: string;

	constructor(message: string, options?: { cause?: unknown; hint?: string }) {
		super(message, options?.cause === undefined ? undefined : { cause: options.cause });
		this.name = 'IdempotencyError';
		this.hint = options?.hint;
	}
}

/**
 * The store could not be reached, the connection broke, or the server refused to serve the call
 * (read-only replica, out of memory, no permission, busy…); nothing was decided. `kind` names
 * what happened (e.g. `READONLY`, `OOM`, `connection`), `hint` says what to do.
 */
export class StoreUnavailableError extends IdempotencyError {
	readonly kind?: string;

	constructor(message: string, options?: { cause?: unknown; kind?: string; hint?: string }) {
		super(message, options);
		this.name = 'StoreUnavailableError';
		this.kind = options?.kind;
	}
}

/**
 * The store works but is set up so that it could break the promise (e.g. a Redis that evicts
 * keys); it refuses until the setting is fixed or the risk is accepted. Nothing was decided.
 */
export class StoreMisconfiguredError extends IdempotencyError {
	declare readonly hint: string;

	constructor(message: string, hint: string) {
		super(message, { hint });
		this.name = 'StoreMisconfiguredError';
	}
}

/** A value given by the user cannot be used (bad namespace, schema name, oversized result…). */
export class InvalidInputError extends IdempotencyError {
	constructor(message: string, hint?: string) {
		super(message, { hint });
		this.name = 'InvalidInputError';
	}
}

/** The message and, after it, the hint: for a place that shows one text only (the credential dialog). */
export function messageWithHint(error: unknown): string {
	const message = String((error as Error)?.message ?? error);
	const hint = error instanceof IdempotencyError ? error.hint : undefined;
	return hint ? `${message.replace(/[.\s]*$/, '')}. ${hint}` : message;
}
