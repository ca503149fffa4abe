// The one place this package makes a NodeOperationError, the error n8n shows. One rule: the
// message says what went wrong ("Item N: …" when it concerns one item), the description — the
// hint — how to fix it; a hint is never glued into a message. A store error keeps its own hint
// (store/errors.ts); only an error without one gets the caller's fallback. Where a message goes
// on without its description — an item under continue-on-fail, an Ambiguous item's metadata —
// the hint goes with it (`errorFields`, `hintOf`).

import { NodeOperationError, type IDataObject, type INode } from 'n8n-workflow';
import { IdempotencyError } from '../store/errors';

type WithNode = { getNode(): INode };

/** An error of this package: `message` what went wrong, `hint` how to fix it. */
export function operationError(node: INode, message: string, options: { hint?: string; itemIndex?: number } = {}): NodeOperationError {
	return new NodeOperationError(node, message, { itemIndex: options.itemIndex, description: options.hint });
}

/** How to fix `error`: a NodeOperationError's description, a store error's hint; undefined when it has none. */
export function hintOf(error: unknown): string | undefined {
	if (error instanceof NodeOperationError) return typeof error.description === 'string' && error.description ? error.description : undefined;
	if (error instanceof IdempotencyError) return error.hint || undefined;
	return undefined;
}

const messageOf = (error: unknown): string => String((error as Error)?.message ?? error);

/** An error about one item: "Item N: …", with the error's own hint, else `fallbackHint`. */
export function itemError(ctx: WithNode, error: unknown, itemIndex: number, fallbackHint?: string): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const text = messageOf(error);
	const message = text.startsWith(`Item ${itemIndex}`) ? text : `Item ${itemIndex}: ${text}`;
	return operationError(ctx.getNode(), message, { itemIndex, hint: hintOf(error) ?? fallbackHint });
}

/**
 * An error about the whole execution, prefixed with what failed (e.g. "The store is not set up"),
 * with the error's own hint, else `fallbackHint`; `more` is added to either (what the failure
 * meant for the items). A NodeOperationError already says what to do and passes unchanged.
 */
export function nodeError(
	ctx: WithNode,
	error: unknown,
	what: string,
	fallbackHint = 'Check that the store is reachable with this credential.',
	more?: string,
): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	const hint = [hintOf(error) ?? fallbackHint, more].filter(Boolean).join(' ');
	return operationError(ctx.getNode(), `${what}: ${messageOf(error)}`, { hint });
}

/** What an item under continue-on-fail carries: `error` (the message) and `errorHint` when there is one. */
export function errorFields(error: NodeOperationError): IDataObject {
	const hint = hintOf(error);
	return hint === undefined ? { error: error.message } : { error: error.message, errorHint: hint };
}
