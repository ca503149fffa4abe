// What a node with an Operation parameter dispatches to (each node's actions/router.ts): one
// module per operation with its own description and execute, run against the node's store.

import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { IdempotencyStore } from '../store/types';
import { operationError } from './errors';
import { withStore } from './resolveStore';

export interface StoreOperation {
	/** The parameters shown only for this operation. */
	description: INodeProperties[];
	/** How many outputs the operation has for this node's parameters (default 1). */
	outputCount?: (ctx: IExecuteFunctions) => number;
	execute(this: IExecuteFunctions, store: IdempotencyStore): Promise<INodeExecutionData[][]>;
}

/** The operation the node is set to, or an error naming the ones it has. */
export function operationOf<T>(ctx: IExecuteFunctions, operations: Readonly<Record<string, T>>, fallback: string): { name: string; operation: T } {
	const name = String(ctx.getNodeParameter('operation', 0, fallback));
	if (!Object.prototype.hasOwnProperty.call(operations, name)) {
		throw operationError(ctx.getNode(), `Unknown operation "${name}"`, {
			hint: `Choose one of the operations this node has: ${Object.keys(operations).join(', ')}. The workflow may come from a newer version of this package.`,
		});
	}
	return { name, operation: operations[name] };
}

/**
 * Runs the node's operation on its input against its store. An empty input gives the
 * operation's outputs empty without opening the store; `what` names the node in store errors.
 */
export async function runOperation(
	ctx: IExecuteFunctions,
	operations: Readonly<Record<string, StoreOperation>>,
	fallback: string,
	what: string,
): Promise<INodeExecutionData[][]> {
	const { operation } = operationOf(ctx, operations, fallback);
	if (ctx.getInputData().length === 0) {
		return Array.from({ length: operation.outputCount?.(ctx) ?? 1 }, () => []);
	}
	return withStore(ctx, what, (store) => operation.execute.call(ctx, store));
}
