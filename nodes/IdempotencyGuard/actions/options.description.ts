// The Guard's fingerprint (a repeat with another payload) and its options: the claim's lease and
// retention, and what to do in each case the decision table leaves to the user (docs/CONTRACT.md §5).

import type { INodeProperties } from 'n8n-workflow';
import { booleanProperty, choiceProperty, numberProperty } from '../../shared/n8n/descriptions';

export const fingerprintDescription: INodeProperties[] = [
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
];

export const optionsDescription: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	options: [
		booleanProperty(
			'Hash Keys',
			'hashKeys',
			false,
			'Whether to store only the SHA-256 of each key (sha256:…) — use it when keys contain personal data such as emails. Keys over 256 characters are always hashed.',
		),
		numberProperty(
			'leaseSeconds',
			300,
			'How long a claim may stay in processing before it counts as stale (the run may have crashed). Set it above the longest time your write can take.',
		),
		numberProperty('maxAttempts', 3, 'How many times a failed key is retried before it goes to Ambiguous with reason max_attempts'),
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
		choiceProperty(
			'On Failed Key',
			'onFailed',
			[
				{ name: 'Retry (New)', value: 'retry', description: 'Send it to New again, attempt + 1' },
				{ name: 'Ambiguous', value: 'ambiguous', description: 'Let a person decide (reason previously_failed)' },
			],
			'retry',
			'What to do with a key whose earlier attempt was marked failed',
		),
		choiceProperty(
			'On In-Progress Key',
			'onInProgress',
			[
				{ name: 'Ambiguous', value: 'ambiguous', description: 'Route to Ambiguous (reason in_progress)' },
				{ name: 'Duplicate', value: 'duplicate', description: 'Treat as a duplicate of the running claim' },
				{ name: 'Wait', value: 'wait', description: 'Poll until the other run settles, then decide again' },
			],
			'ambiguous',
			'What to do when another execution holds a live claim on the key',
		),
		choiceProperty(
			'On Lease Expired',
			'onLeaseExpired',
			[
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
			'ambiguous',
			'What to do with a key whose claim went stale (the run crashed or hung)',
		),
		choiceProperty(
			'On Missing Key',
			'onMissingKey',
			[
				{ name: 'Ambiguous', value: 'ambiguous', description: 'Route to Ambiguous with reason missing_key' },
				{ name: 'Error', value: 'error', description: 'Fail the node, naming the item and the field' },
			],
			'ambiguous',
		),
		choiceProperty(
			'On Payload Mismatch',
			'onPayloadMismatch',
			[
				{ name: 'Ambiguous', value: 'ambiguous', description: 'Quarantine it for a person (reason payload_mismatch)' },
				{ name: 'Duplicate', value: 'duplicate', description: 'Treat it as a duplicate anyway' },
			],
			'ambiguous',
			'What to do when a known key arrives with a different fingerprint',
		),
		choiceProperty(
			'On Store Error',
			'onStoreError',
			[
				{ name: 'Error', value: 'error', description: 'Fail the node; nothing is routed as New' },
				{ name: 'Ambiguous', value: 'ambiguous', description: 'Route every item to Ambiguous with reason store_unavailable' },
			],
			'error',
			'What to do when the store cannot be reached',
		),
		numberProperty(
			'retentionDays',
			30,
			'How long a processed or failed key is remembered; after that the same key is New again. 0 keeps it forever.',
		),
		booleanProperty(
			'Test Runs Take Over Their Own Claims',
			'testRunsTakeOver',
			true,
			'Whether a test run in the editor may take back a key an earlier test run of this workflow claimed and never marked processed, so testing again gives New instead of Ambiguous (in_progress). Only manual runs do; a claim of a production execution or of another workflow is never taken over, and production executions never take over anything.',
		),
		numberProperty(
			'waitSeconds',
			30,
			'With On In-Progress Key = Wait: how long to poll before routing to Ambiguous (in_progress)',
			{ show: { onInProgress: ['wait'] } },
		),
	],
};
