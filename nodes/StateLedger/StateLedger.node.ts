import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { credentialTest } from '../shared/n8n/credentialTests';
import { ledgerDescription } from './description';
import { executeLedger } from './execute';

/** Records each key's processing state and answers "what happened to key X?". */
export class StateLedger implements INodeType {
	description: INodeTypeDescription = ledgerDescription;

	methods = { credentialTest };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return executeLedger.call(this);
	}
}
