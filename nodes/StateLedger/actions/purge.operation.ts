// Purge: delete a namespace's keys past retention and their history; says how many.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { eachItem } from '../../shared/n8n/items';
import { validateNamespace } from '../../shared/store/identifiers';
import type { IdempotencyStore } from '../../shared/store/types';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const namespace = validateNamespace(this.getNodeParameter('namespace', i));
		const purged = await store.purge(namespace);
		return [{ json: { namespace, purgedRecords: purged.records, purgedHistory: purged.history }, pairedItem: { item: i } }];
	});
	return [out];
}
