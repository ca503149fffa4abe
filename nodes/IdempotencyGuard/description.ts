// The Idempotency Guard's parameters: what a user sees and sets (SPEC §4–5).

import type { INodeProperties } from 'n8n-workflow';
import { namespaceProperty, storeProperty } from '../shared/n8n/storeParameters';
import { providerProperties } from './providerDescription';
import { typeOptionsOf } from '../shared/engine/bounds';

export const guardProperties: INodeProperties[] = [
	storeProperty,
	namespaceProperty,
	{
		displayName: 'Key Source',
		name: 'keySource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Fields', value: 'fields', description: 'Build the key from item fields, normalised' },
			{ name: 'Expression', value: 'expression', description: 'Compute the key with an expression' },
			{
				name: 'Webhook Provider',
				value: 'provider',
				description: 'Use the delivery or event ID the provider sends with every retry (Stripe, GitHub, Shopify, …)',
			},
		],
		default: 'fields',
		description: 'How the business key of each item is built. One business event must always give the same key.',
	},
	{
		displayName: 'Key Fields',
		name: 'keyFields',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'body.email, body.source, body.submissionId',
		// A field dragged from the input panel is written as its path, appended after a comma
		requiresDataPath: 'multiple',
		description:
			'Comma-separated field paths (dots for nesting, [0] for list items) — or drag fields here from the input. All must be present; an item missing one goes to Ambiguous with reason missing_key.',
		displayOptions: { show: { keySource: ['fields'] } },
	},
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		placeholder: '{{ $json.body.supplierId + "/" + $json.body.invoiceNumber }}',
		description: 'An expression giving the business key of each item',
		displayOptions: { show: { keySource: ['expression'] } },
	},
	...providerProperties,
	{
		displayName: 'Fingerprint',
		name: 'fingerprint',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'None', value: 'none', description: 'Only the key decides' },
			{
				name: 'Whole Item',
				value: 'item',
				description: 'A repeat whose JSON differs from the first delivery is a payload mismatch',
			},
			{
				name: 'Selected Fields',
				value: 'fields',
				description: 'A repeat whose listed fields differ (for example amount, currency) is a payload mismatch',
			},
		],
		default: 'none',
		description:
			'Detect a key that comes back with a different payload, e.g. an invoice re-sent with another amount',
	},
	{
		displayName: 'Fingerprint Fields',
		name: 'fingerprintFields',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'body.amount, body.currency',
		requiresDataPath: 'multiple',
		description: 'Comma-separated field paths (or fields dragged from the input) whose values must match on every delivery of a key',
		displayOptions: { show: { fingerprint: ['fields'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Hash Keys',
				name: 'hashKeys',
				type: 'boolean',
				default: false,
				description:
					'Whether to store only the SHA-256 of each key (sha256:…) — use it when keys contain personal data such as emails. Keys over 256 characters are always hashed.',
			},
			{
				displayName: 'Lease (Seconds)',
				name: 'leaseSeconds',
				type: 'number',
				typeOptions: typeOptionsOf('leaseSeconds'),
				default: 300,
				description:
					'How long a claim may stay in processing before it counts as stale (the run may have crashed). Set it above the longest time your write can take.',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: typeOptionsOf('maxAttempts'),
				default: 3,
				description: 'How many times a failed key is retried before it goes to Ambiguous with reason max_attempts',
			},
			{
				displayName: 'Normalize Key Fields',
				name: 'normalize',
				type: 'multiOptions',
				options: [
					{ name: 'Collapse Whitespace', value: 'collapseWhitespace' },
					{ name: 'Lowercase', value: 'lowercase' },
					{ name: 'Trim', value: 'trim' },
					{ name: 'Unicode NFKC', value: 'unicodeNfkc' },
				],
				default: ['trim', 'collapseWhitespace', 'unicodeNfkc'],
				description:
					'Clean-ups applied to key values so that "Jane@X.com " and "Jane@X.com" are one key. Add Lowercase for emails.',
			},
			{
				displayName: 'On Failed Key',
				name: 'onFailed',
				type: 'options',
				options: [
					{ name: 'Retry (New)', value: 'retry', description: 'Send it to New again, attempt + 1' },
					{ name: 'Ambiguous', value: 'ambiguous', description: 'Let a person decide (reason previously_failed)' },
				],
				default: 'retry',
				description: 'What to do with a key whose earlier attempt was marked failed',
			},
			{
				displayName: 'On In-Progress Key',
				name: 'onInProgress',
				type: 'options',
				options: [
					{ name: 'Ambiguous', value: 'ambiguous', description: 'Route to Ambiguous (reason in_progress)' },
					{ name: 'Duplicate', value: 'duplicate', description: 'Treat as a duplicate of the running claim' },
					{
						name: 'Wait',
						value: 'wait',
						description: 'Poll until the other run settles, then decide again',
					},
				],
				default: 'ambiguous',
				description: 'What to do when another execution holds a live claim on the key',
			},
			{
				displayName: 'On Lease Expired',
				name: 'onLeaseExpired',
				type: 'options',
				options: [
					{
						name: 'Ambiguous',
						value: 'ambiguous',
						description: 'The earlier run may have written; a person decides (reason lease_expired)',
					},
					{
						name: 'Reclaim (New)',
						value: 'reclaim',
						description: 'Take over as New with attempt + 1 — only when the write is an upsert',
					},
				],
				default: 'ambiguous',
				description: 'What to do with a key whose claim went stale (the run crashed or hung)',
			},
			{
				displayName: 'On Missing Key',
				name: 'onMissingKey',
				type: 'options',
				options: [
					{ name: 'Ambiguous', value: 'ambiguous', description: 'Route to Ambiguous with reason missing_key' },
					{ name: 'Error', value: 'error', description: 'Fail the node, naming the item and the field' },
				],
				default: 'ambiguous',
			},
			{
				displayName: 'On Payload Mismatch',
				name: 'onPayloadMismatch',
				type: 'options',
				options: [
					{ name: 'Ambiguous', value: 'ambiguous', description: 'Quarantine it for a person (reason payload_mismatch)' },
					{ name: 'Duplicate', value: 'duplicate', description: 'Treat it as a duplicate anyway' },
				],
				default: 'ambiguous',
				description: 'What to do when a known key arrives with a different fingerprint',
			},
			{
				displayName: 'On Store Error',
				name: 'onStoreError',
				type: 'options',
				options: [
					{ name: 'Error', value: 'error', description: 'Fail the node; nothing is routed as New' },
					{
						name: 'Ambiguous',
						value: 'ambiguous',
						description: 'Route every item to Ambiguous with reason store_unavailable',
					},
				],
				default: 'error',
				description: 'What to do when the store cannot be reached',
			},
			{
				displayName: 'Retention (Days)',
				name: 'retentionDays',
				type: 'number',
				typeOptions: typeOptionsOf('retentionDays'),
				default: 30,
				description:
					'How long a processed or failed key is remembered; after that the same key is New again. 0 keeps it forever.',
			},
			{
				displayName: 'Wait (Seconds)',
				name: 'waitSeconds',
				type: 'number',
				typeOptions: typeOptionsOf('waitSeconds'),
				default: 30,
				description: 'With On In-Progress Key = Wait: how long to poll before routing to Ambiguous (in_progress)',
				displayOptions: { show: { onInProgress: ['wait'] } },
			},
		],
	},
];
