// Mark Processed: the write succeeded; its result is what later duplicates receive.

import type { INodeProperties } from 'n8n-workflow';
import { resultJsonOf } from '../../shared/n8n/records';
import { transitionOperation } from './transitions';

const result: INodeProperties = {
	displayName: 'Result',
	name: 'result',
	type: 'json',
	default: '',
	placeholder: '{{ { contactId: $json.id } }}',
	description:
		'What later duplicates receive in _idempotency.result, e.g. the CRM contact ID: {{ { contactId: $json.id } }}. JSON, at most 64 KB. Left empty, the key is marked processed with no result (null).',
	displayOptions: { show: { operation: ['markProcessed'], '@version': [{ _cnd: { gte: 2 } }] } },
};

/**
 * Result per node version. n8n saves a node without the parameters left at their default, so a
 * version-1 node saved with the old default `{}` has no Result in its file and must go on
 * reading it as `{}`; from version 2 on, Result starts empty (an empty `{}` hid the placeholder
 * and stored an empty object as if it were the write's result) and empty stores null.
 */
export const description: INodeProperties[] = [
	{ ...result, default: '{}', displayOptions: { show: { operation: ['markProcessed'], '@version': [1, 1.1] } } },
	result,
];

export const { outputCount, execute } = transitionOperation('markProcessed', ({ parameters, itemIndex }) => ({
	resultJson: resultJsonOf(parameters.get('result', itemIndex, null), itemIndex),
}));
