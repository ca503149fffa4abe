// Runs the operation the State Ledger is set to: transitions batch the whole input and route it
// to Applied / Rejected; reads answer one request per input item.

import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { runOperation, type StoreOperation } from '../../shared/n8n/operations';
import * as get from './get.operation';
import * as history from './history.operation';
import * as list from './list.operation';
import * as markFailed from './markFailed.operation';
import * as markProcessed from './markProcessed.operation';
import * as markReceived from './markReceived.operation';
import * as purge from './purge.operation';
import * as release from './release.operation';
import * as report from './report.operation';
import * as stats from './stats.operation';

/** Every operation, in the order the Operation list shows them. */
export const operations: Readonly<Record<string, StoreOperation>> = {
	markProcessed,
	markFailed,
	markReceived,
	release,
	get,
	history,
	list,
	stats,
	report,
	purge,
};

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return runOperation(this, operations, 'markProcessed', 'The State Ledger failed');
}
