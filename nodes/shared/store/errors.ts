// Every error the store layer raises. The node layer turns these into NodeOperationError with the
// item index; here they only carry a message a user can act on and the underlying cause.

export class IdempotencyError extends Error {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'IdempotencyError';
	}
}

/** The store could not be reached or the connection broke; nothing was decided. */
export class StoreUnavailableError extends IdempotencyError {
	constructor(message: string, options?: { cause?: unknown }) {
		super(message, options);
		this.name = 'StoreUnavailableError';
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
