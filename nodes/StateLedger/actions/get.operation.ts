// Get: what happened to a key — its record (state null for a key the store does not know) and
// its full history, one item per input item.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { eachItem } from '../../shared/n8n/items';
import { presentHistory, presentRecord, presentUnknownRecord } from '../../shared/n8n/records';
import type { IdempotencyStore } from '../../shared/store/types';
import { LedgerKeys } from '../helpers/ledgerKeys';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const keys = new LedgerKeys(this);
	const out = await eachItem(this, async (i) => {
		const ref = keys.resolve(i);
		const [record, history] = await Promise.all([store.get(ref.namespace, ref.key), store.history(ref.namespace, ref.key)]);
		const base = record ? presentRecord(record) : presentUnknownRecord(ref.namespace, ref.key);
		return [{ json: { ...base, history: history.map(presentHistory) }, pairedItem: { item: i } }];
	});
	return [out];
}
