// Runs the operation the Exception Router is set to: Route batches the whole input (one round
// trip per namespace); Resolve, Resolve From Slack Action, Reconcile, List Open and Get answer
// one request per input item.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { runOperation, type StoreOperation } from '../../shared/n8n/operations';
import * as get from './get.operation';
import * as listOpen from './listOpen.operation';
import * as reconcile from './reconcile.operation';
import * as resolve from './resolve.operation';
import * as resolveFromSlack from './resolveFromSlack.operation';
import * as route from './route.operation';

/** Every operation, in the order the Operation list shows them. */
export const operations: Readonly<Record<string, StoreOperation>> = { route, resolve, resolveFromSlack, reconcile, listOpen, get };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return runOperation(this, operations, 'route', 'The Exception Router failed');
}
