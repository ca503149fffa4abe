// Resolve: closes an exception (by its ID, or the open ones of a namespace and key) as Replay
// (release the key), Mark Processed (the write did happen) or Discard; recorded in history.

import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { actorOf, iso } from '../../shared/n8n/actor';
import { explicitKeyProperty } from '../../shared/n8n/descriptions';
import { presentException } from '../../shared/n8n/exceptionItem';
import { eachItem } from '../../shared/n8n/items';
import { storedKeyAsWritten } from '../../shared/n8n/keyReference';
import { resolutionOptions } from '../../shared/n8n/options';
import { presentRecord, resultJsonOf } from '../../shared/n8n/records';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import { PERSON_RESOLUTIONS, type IdempotencyStore, type Resolution } from '../../shared/store/types';
import { exceptionById } from '../helpers/exceptionId';

const show = { operation: ['resolve'] };

export const description: INodeProperties[] = [
	explicitKeyProperty(
		{ operation: ['resolve'], exceptionId: [''] },
		'The key whose open exceptions to resolve, as the Guard stored it.',
		false,
	),
	{
		displayName: 'Resolution',
		name: 'resolution',
		type: 'options',
		options: resolutionOptions,
		default: 'replay',
		displayOptions: { show },
	},
	{
		displayName: 'Result',
		name: 'result',
		type: 'json',
		default: '{}',
		description: 'What later duplicates receive, e.g. {"contactId": "123"} found in the CRM',
		displayOptions: { show: { operation: ['resolve'], resolution: ['markProcessed'] } },
	},
	{
		displayName: 'Resolved By',
		name: 'resolvedBy',
		type: 'string',
		default: '',
		placeholder: 'jane@example.com',
		displayOptions: { show },
	},
	{
		displayName: 'Note',
		name: 'note',
		type: 'string',
		default: '',
		typeOptions: { rows: 2 },
		displayOptions: { show },
	},
];

/** A replay that would let the next delivery write while the first run may still be writing. */
function liveClaimRefusal(key: string, leaseUntil: number | null): InvalidInputError {
	return new InvalidInputError(
		`Replay refused: key "${key}" is still being processed (its claim is live${leaseUntil ? ` until ${iso(leaseUntil)}` : ''}); the exception stays open`,
		'Wait until that run has finished or its lease has run out and resolve again, or turn on Options > Force if you know that run is dead (recorded as forced).',
	);
}

const text = (value: unknown) => String(value ?? '').trim() || null;

export async function execute(this: IExecuteFunctions, store: IdempotencyStore) {
	const actor = actorOf(this);
	const out = await eachItem(this, async (i) => {
		const pairedItem = { item: i };
		const id = text(this.getNodeParameter('exceptionId', i, ''));
		const resolution = this.getNodeParameter('resolution', i, 'replay') as Resolution;
		if (!(PERSON_RESOLUTIONS as readonly string[]).includes(resolution)) {
			throw new InvalidInputError(`Resolution "${resolution}" is not one of ${PERSON_RESOLUTIONS.join(', ')}`);
		}
		let namespace: string | null = null;
		let key: string | null = null;
		if (!id) {
			namespace = validateNamespace(this.getNodeParameter('namespace', i));
			key = storedKeyAsWritten(this.getNodeParameter('key', i, ''), [
				'Give an Exception ID, or a namespace and key',
				'Set Exception ID to the exception.id from the Router.',
			]);
		}
		const result = await store.resolveException(
			{
				id,
				namespace,
				key,
				resolution,
				resolvedBy: text(this.getNodeParameter('resolvedBy', i, '')),
				note: text(this.getNodeParameter('note', i, '')),
				resultJson: resolution === 'markProcessed' ? resultJsonOf(this.getNodeParameter('result', i, null), i) : null,
				force: (this.getNodeParameter('options', i, {}) as { force?: boolean }).force === true,
			},
			actor,
		);
		if (result.refused === 'live_claim') throw liveClaimRefusal(result.record?.key ?? key ?? '', result.record?.leaseUntil ?? null);
		if (id && result.exceptions.length === 0) {
			const existing = await exceptionById(store, id);
			return [{ json: { resolved: [presentException(existing, null)], alreadyResolved: true, record: null }, pairedItem }];
		}
		const resolved = result.exceptions.map((e) => presentException(e, null));
		return [{ json: { resolved, alreadyResolved: false, record: result.record ? presentRecord(result.record) : null }, pairedItem }];
	});
	return [out];
}
