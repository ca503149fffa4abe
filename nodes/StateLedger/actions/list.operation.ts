// List: a namespace's keys by state, stuck claims only, or not changed for a while; oldest
// first, page by page (each item carries the next page's cursor).

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { boundedNumber } from '../../shared/engine/bounds';
import { booleanProperty, numberProperty } from '../../shared/n8n/descriptions';
import { eachItem } from '../../shared/n8n/items';
import { recordStateOptions } from '../../shared/n8n/options';
import { presentRecord } from '../../shared/n8n/records';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import { RECORD_STATES, type IdempotencyStore, type RecordState } from '../../shared/store/types';

const show = { show: { operation: ['list'] } };

export const description: INodeProperties[] = [
	{
		displayName: 'State',
		name: 'state',
		type: 'options',
		options: recordStateOptions,
		default: '',
		displayOptions: show,
	},
	booleanProperty(
		'Stuck Only',
		'stuckOnly',
		false,
		'Whether to list only claims still processing after their lease ended (a crashed or hung run)',
		show,
	),
	numberProperty('olderThanMinutes', 0, 'Only keys whose state last changed at least this long ago; 0 for all', show),
	numberProperty('limit', 100, 'Max number of results to return', show),
	{
		displayName: 'Cursor',
		name: 'cursor',
		type: 'string',
		default: '',
		description: 'The nextCursor of the previous page; empty for the first page',
		displayOptions: show,
	},
];

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const out = await eachItem(this, async (i) => {
		const namespace = validateNamespace(this.getNodeParameter('namespace', i));
		const state = String(this.getNodeParameter('state', i, '') ?? '');
		if (state && !(RECORD_STATES as readonly string[]).includes(state)) {
			throw new InvalidInputError(`State "${state}" is not one of ${RECORD_STATES.join(', ')}`);
		}
		const olderThanMinutes = boundedNumber('olderThanMinutes', this.getNodeParameter('olderThanMinutes', i, 0), 0, i);
		const limit = boundedNumber('limit', this.getNodeParameter('limit', i, 100), 100, i);
		const page = await store.list(namespace, {
			state: (state || null) as RecordState | null,
			stuckOnly: this.getNodeParameter('stuckOnly', i, false) === true,
			olderThanMs: olderThanMinutes > 0 ? olderThanMinutes * 60_000 : null,
			limit,
			cursor: String(this.getNodeParameter('cursor', i, '') ?? '') || null,
		});
		return page.records.map((record) => ({ json: { ...presentRecord(record), nextCursor: page.nextCursor }, pairedItem: { item: i } }));
	});
	return [out];
}
