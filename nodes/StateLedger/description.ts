// The State Ledger's parameters (SPEC §6).

import type { INodeParameters, INodeProperties } from 'n8n-workflow';
import { adminNamespaceProperties, storeProperty } from '../shared/n8n/storeParameters';
import { typeOptionsOf } from '../shared/engine/bounds';

export const TRANSITIONS = ['markProcessed', 'markFailed', 'markReceived', 'release'] as const;
const KEYED = [...TRANSITIONS, 'get', 'history'];

// Evaluated by n8n in the editor to draw the outputs; it must be self-contained (no imports).
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

const explicitOnly = { show: { keySource: ['explicit'], operation: KEYED } };

export const ledgerProperties: INodeProperties[] = [
	storeProperty,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
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
			{ name: 'Purge', value: 'purge', action: 'Purge expired keys', description: 'Delete keys past retention and their history' },
		],
		default: 'markProcessed',
	},
	// Shown twice under one name: for namespace-wide operations, and for explicit keys (with
	// metadata, the namespace comes from the item).
	...adminNamespaceProperties({ operation: ['list', 'stats', 'purge'] }),
	{
		displayName: 'Key Source',
		name: 'keySource',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'From Guard Metadata',
				value: 'metadata',
				description:
					"The item's _idempotency, or the upstream Idempotency Guard's for this item when a node in between replaced the JSON",
			},
			{ name: 'Explicit', value: 'explicit', description: 'Give namespace, key and (optionally) claim token' },
		],
		default: 'metadata',
		displayOptions: { show: { operation: KEYED } },
	},
	...adminNamespaceProperties(explicitOnly.show),
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		description:
			'The key exactly as the Guard stored it (see _idempotency.key; sha256:… when hashed). Used exactly as written (no trimming or normalising); a key longer than 256 characters is hashed as the Guard does.',
		displayOptions: explicitOnly,
	},
	{
		displayName: 'Claim Token',
		name: 'claimToken',
		type: 'string',
		default: '',
		description: "The Guard's _idempotency.claimToken. Needed to settle a claim while Verify Claim is on.",
		displayOptions: { show: { keySource: ['explicit'], operation: [...TRANSITIONS] } },
	},
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
	{
		displayName: 'Error Message',
		name: 'errorMessage',
		type: 'string',
		default: '',
		placeholder: '{{ $json.error.message }}',
		description: "Why the write failed. Left empty, the item's error field is used when it has one.",
		displayOptions: { show: { operation: ['markFailed'] } },
	},
	{
		displayName: 'State',
		name: 'state',
		type: 'options',
		options: [
			{ name: 'Any', value: '' },
			{ name: 'Failed', value: 'failed' },
			{ name: 'Processed', value: 'processed' },
			{ name: 'Processing', value: 'processing' },
			{ name: 'Received', value: 'received' },
		],
		default: '',
		displayOptions: { show: { operation: ['list'] } },
	},
	{
		displayName: 'Stuck Only',
		name: 'stuckOnly',
		type: 'boolean',
		default: false,
		description: 'Whether to list only claims still processing after their lease ended (a crashed or hung run)',
		displayOptions: { show: { operation: ['list'] } },
	},
	{
		displayName: 'Older Than (Minutes)',
		name: 'olderThanMinutes',
		type: 'number',
		typeOptions: typeOptionsOf('olderThanMinutes'),
		default: 0,
		description: 'Only keys whose state last changed at least this long ago; 0 for all',
		displayOptions: { show: { operation: ['list'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: typeOptionsOf('limit'),
		default: 100,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['list'] } },
	},
	{
		displayName: 'Cursor',
		name: 'cursor',
		type: 'string',
		default: '',
		description: 'The nextCursor of the previous page; empty for the first page',
		displayOptions: { show: { operation: ['list'] } },
	},
	{
		displayName: 'Since (Hours)',
		name: 'sinceHours',
		type: 'number',
		typeOptions: typeOptionsOf('sinceHours'),
		default: 24,
		description: 'The window to count over, ending now',
		displayOptions: { show: { operation: ['stats'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { show: { operation: [...TRANSITIONS] } },
		options: [
			{
				displayName: 'Force',
				name: 'force',
				type: 'boolean',
				default: false,
				description:
					'Whether to move the key whatever its state or token (an operator override, recorded as forced in its history)',
			},
			{
				displayName: 'Verify Claim',
				name: 'verifyClaim',
				type: 'boolean',
				default: true,
				description:
					'Whether settling a claim needs its claim token, so a stale run whose lease was taken over is rejected (claim_lost) instead of overwriting the new owner',
			},
		],
	},
];
