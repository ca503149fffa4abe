// The State Ledger's parameters (docs/CONTRACT.md §6), in the order the editor shows them: what every
// operation shares first (store, operation, namespace, key source), then each operation's own
// (its *.operation.ts), then the transitions' options.

import type { INodeParameters, INodeProperties } from 'n8n-workflow';
import { explicitKeyProperty, keySourceProperty, operationProperty } from '../../shared/n8n/descriptions';
import { adminNamespaceProperties, storeProperty } from '../../shared/n8n/storeParameters';
import { TRANSITION_KINDS } from '../../shared/store/types';
import { operations } from './router';
import { transitionOptions } from './transitions';

// The operations that act on one key.
const KEYED = [...TRANSITION_KINDS, 'get', 'history'];

// Evaluated by n8n in the editor to draw the outputs; it must be self-contained (no imports).
// test/nodes/layout.test.ts checks its list of transitions against TRANSITION_KINDS.
export const configuredOutputs = (parameters: INodeParameters): Array<{ type: string; displayName?: string }> => {
	const transitions = ['markProcessed', 'markFailed', 'markReceived', 'release'];
	const operation = (parameters.operation as string) ?? 'markProcessed';
	if (transitions.includes(operation)) {
		return [
			{ type: 'main', displayName: 'Applied' },
			{ type: 'main', displayName: 'Rejected' },
		];
	}
	return [{ type: 'main' }];
};

const operation = operationProperty(
	[
		{
			name: 'Mark Processed',
			value: 'markProcessed',
			action: 'Mark a key processed',
			description: 'Record that the write succeeded, with its result for later duplicates',
		},
		{
			name: 'Mark Failed',
			value: 'markFailed',
			action: 'Mark a key failed',
			description: 'Record that the write failed; the Guard retries it up to Max Attempts',
		},
		{
			name: 'Mark Received',
			value: 'markReceived',
			action: 'Mark a key received',
			description: 'Record that an event arrived before anything is claimed',
		},
		{
			name: 'Release',
			value: 'release',
			action: 'Release a key',
			description: 'Forget the claim so the next delivery is New (a safe manual replay)',
		},
		{ name: 'Get', value: 'get', action: 'Get a key', description: 'What happened to a key: its record and full history' },
		{ name: 'History', value: 'history', action: 'Get the history of a key', description: 'Every event of a key, oldest first, one item each' },
		{ name: 'List', value: 'list', action: 'List keys', description: 'Keys by state, stuck claims, oldest first, page by page' },
		{ name: 'Stats', value: 'stats', action: 'Count outcomes', description: 'New, duplicate, ambiguous, processed, failed counts over a window' },
		{
			name: 'Report',
			value: 'report',
			action: 'Report the numbers',
			description: 'Deliveries, duplicates stopped, retries, exceptions and time to resolve by hour, day or week, with a Slack digest',
		},
		{ name: 'Purge', value: 'purge', action: 'Purge expired keys', description: 'Delete keys past retention and their history' },
	],
	'markProcessed',
);

const explicitOnly = { keySource: ['explicit'], operation: KEYED };

export const ledgerProperties: INodeProperties[] = [
	storeProperty,
	operation,
	// Shown twice under one name: for namespace-wide operations, and for explicit keys (with
	// metadata, the namespace comes from the item).
	...adminNamespaceProperties({ operation: ['list', 'stats', 'purge'] }),
	// Not required here: empty reports on every namespace, as the Idempotency Trigger watches them.
	...adminNamespaceProperties(
		{ operation: ['report'] },
		{
			required: false,
			description:
				"The namespace to report on: the Guard's Namespace parameter, or its workflow ID if it kept the default. Leave empty to report on every namespace of this store.",
		},
	),
	keySourceProperty(
		{
			metadata: "The item's _idempotency, or the upstream Idempotency Guard's for this item when a node in between replaced the JSON",
			explicit: 'Give namespace, key and (optionally) claim token',
		},
		{ operation: KEYED },
	),
	...adminNamespaceProperties(explicitOnly),
	explicitKeyProperty(explicitOnly),
	{
		displayName: 'Claim Token',
		name: 'claimToken',
		type: 'string',
		default: '',
		description: "The Guard's _idempotency.claimToken. Needed to settle a claim while Verify Claim is on.",
		displayOptions: { show: { keySource: ['explicit'], operation: [...TRANSITION_KINDS] } },
	},
	...Object.values(operations).flatMap((op) => op.description),
	transitionOptions,
];
