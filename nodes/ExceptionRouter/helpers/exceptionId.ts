// An exception named by its ID (Resolve, Get): the stored one, or a clear error.

import { InvalidInputError } from '../../shared/store/errors';
import type { ExceptionRecord, IdempotencyStore } from '../../shared/store/types';

export async function exceptionById(store: IdempotencyStore, id: string): Promise<ExceptionRecord> {
	const exception = await store.getException(id);
	if (!exception) throw new InvalidInputError(`No exception has the ID "${id}"`, "Use the exception.id from the Router's output.");
	return exception;
}
