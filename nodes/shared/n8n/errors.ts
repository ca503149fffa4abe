// Turns store-layer errors into the NodeOperationError n8n shows: the item index in the message,
// the store's hint as the description.

import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import type { InvalidInputError } from '../store/errors';

/** An error about one item: "Item N: …", with the hint of an InvalidInputError as description. */
export function itemError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const e = error as InvalidInputError;
	const text = String(e?.message ?? error);
	const message = text.startsWith(`Item ${itemIndex}`) ? text : `Item ${itemIndex}: ${text}`;
	return new NodeOperationError(ctx.getNode(), message, { itemIndex, description: e?.hint });
}

/** An error about the whole execution (e.g. the store failed), prefixed with what failed. */
export function nodeError(ctx: IExecuteFunctions, error: unknown, what: string): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	return new NodeOperationError(ctx.getNode(), `${what}: ${String((error as Error)?.message ?? error)}`, {
		description: 'Check that the store is reachable with this credential.',
	});
}
