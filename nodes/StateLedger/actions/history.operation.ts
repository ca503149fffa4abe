// History: every event of a key, oldest first, one item each.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { eachItem } from '../../shared/n8n/items';
import { presentHistory } from '../../shared/n8n/records';
import type { IdempotencyStore } from '../../shared/store/types';
import { LedgerKeys } from '../helpers/ledgerKeys';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const keys = new LedgerKeys(this);
	const out = await eachItem(this, async (i) => {
		const { namespace, key } = keys.resolve(i);
		const history = await store.history(namespace, key);
		return history.map((entry) => ({ json: { namespace, key, ...presentHistory(entry) }, pairedItem: { item: i } }));
	});
	return [out];
}
