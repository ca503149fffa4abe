import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { credentialTest } from '../shared/n8n/credentialTests';
import { guardDescription } from './description';
import { executeGuard } from './execute';

/** Routes each item to New, Duplicate or Ambiguous by an atomic claim of its business key. */
export class IdempotencyGuard implements INodeType {
	description: INodeTypeDescription = guardDescription;

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeGuard.call(this);
	}
}
