// Every error the store layer raises. The node layer turns these into NodeOperationError with the
// item index; here they only carry a message a user can act on and the underlying cause.

export class IdempotencyError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'IdempotencyError';
	}
}

/**
 * The store could not be reached, the connection broke, or the server refused to serve the call
 * (read-only replica, out of memory, no permission, busy…); nothing was decided. `kind` names
 * what happened (e.g. `READONLY`, `OOM`, `connection`), `hint` says what to do; the message
 * already ends with the hint.
 */
export class StoreUnavailableError extends IdempotencyError {
	readonly kind?: string;
	readonly hint?: string;

	constructor(message: string, options?: { cause?: unknown; kind?: string; hint?: string }) {
		super(message, options);
		this.name = 'StoreUnavailableError';
		this.kind = options?.kind;
		this.hint = options?.hint;
	}
}

/**
 * The store works but is set up so that it could break the promise (e.g. a Redis that evicts
 * keys); it refuses until the setting is fixed or the risk is accepted. Nothing was decided.
 */
export class StoreMisconfiguredError extends IdempotencyError {
	constructor(
		message: string,
		readonly hint: string,
	) {
		super(`${message} ${hint}`);
		this.name = 'StoreMisconfiguredError';
	}
}

/** A value given by the user cannot be used (bad namespace, schema name, oversized result…). */
export class InvalidInputError extends IdempotencyError {
	constructor(
		message: string,
		readonly hint?: string,
	) {
		super(message);
		this.name = 'InvalidInputError';
	}
}
