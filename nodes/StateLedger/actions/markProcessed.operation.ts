// Mark Processed: the write succeeded; its result is what later duplicates receive.

import type { INodeProperties } from 'n8n-workflow';
import { resultJsonOf } from '../../shared/n8n/records';
import { transitionOperation } from './transitions';

export const description: INodeProperties[] = [
	{
		displayName: 'Result',
		name: 'result',
		type: 'json',
		default: '{}',
		placeholder: '{{ { contactId: $json.id } }}',
		description:
			'What later duplicates receive in _idempotency.result, e.g. the CRM contact ID. JSON, at most 64 KB.',
		displayOptions: { show: { operation: ['markProcessed'] } },
	},
];

export const { outputCount, execute } = transitionOperation('markProcessed', ({ parameters, itemIndex }) => ({
	resultJson: resultJsonOf(parameters.get('result', itemIndex, null), itemIndex),
}));
