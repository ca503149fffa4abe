// List Open: open exceptions by namespace, owner, reason and age, e.g. for a daily digest.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { numberProperty } from '../../shared/n8n/descriptions';
import { executionUrlOf, presentException } from '../../shared/n8n/exceptionItem';
import { eachItem } from '../../shared/n8n/items';
import { reasonOptions } from '../../shared/n8n/options';
import { validateNamespace } from '../../shared/store/identifiers';
import type { IdempotencyStore } from '../../shared/store/types';

const show = { show: { operation: ['listOpen'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'Owner',
		name: 'owner',
		type: 'string',
		default: '',
		description: 'Only exceptions of this owner; empty for all',
		displayOptions: show,
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'options',
		options: [{ name: 'Any', value: '' }, ...reasonOptions],
		default: '',
		description: 'Only exceptions with this reason',
		displayOptions: show,
	},
	numberProperty('olderThanMinutes', 0, 'Only exceptions open at least this long; 0 for all', show),
	numberProperty('limit', 100, 'Max number of results to return', show),
];

const text = (value: unknown) => String(value ?? '').trim();

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const namespace = text(this.getNodeParameter('namespace', i, ''));
		const minutes = boundedNumber('olderThanMinutes', this.getNodeParameter('olderThanMinutes', i, 0), 0, i);
		const limit = boundedNumber('limit', this.getNodeParameter('limit', i, 100), 100, i);
		const list = await store.listOpenExceptions({
			namespace: namespace ? validateNamespace(namespace) : null,
			owner: text(this.getNodeParameter('owner', i, '')) || null,
			reason: text(this.getNodeParameter('reason', i, '')) || null,
			olderThanMs: minutes > 0 ? minutes * 60_000 : null,
			limit,
		});
		return list.map((exception) => ({
			json: presentException(exception, executionUrlOf(this, exception.workflowId, exception.executionId)),
			pairedItem: { item: i },
		}));
	});
	return [out];
}
