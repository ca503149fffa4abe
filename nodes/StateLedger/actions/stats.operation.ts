// Stats: a namespace's counts over a window ending now — the numbers ops leaders watch.

import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { iso } from '../../shared/n8n/actor';
import { numberProperty } from '../../shared/n8n/descriptions';
import { eachItem } from '../../shared/n8n/items';
import { validateNamespace } from '../../shared/store/identifiers';
import type { IdempotencyStore } from '../../shared/store/types';

export const description: INodeProperties[] = [
	numberProperty('sinceHours', 24, 'The window to count over, ending now', { show: { operation: ['stats'] } }),
];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const namespace = validateNamespace(this.getNodeParameter('namespace', i));
		const hours = boundedNumber('sinceHours', this.getNodeParameter('sinceHours', i, 24), 24, i);
		const stats = await store.stats(namespace, hours * 3_600_000);
		const json = { ...stats, since: iso(stats.since), until: iso(stats.until), sinceHours: hours } as unknown as IDataObject;
		return [{ json, pairedItem: { item: i } }];
	});
	return [out];
}
