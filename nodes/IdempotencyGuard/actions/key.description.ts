// How the Guard builds each item's business key (docs/CONTRACT.md §4–5, §12): from fields, an expression, or
// the delivery id a webhook provider sends with every retry. The provider ids and why each is
// stable across retries are in engine/providerKeys.ts and the README.

import type { INodeProperties } from 'n8n-workflow';

export const keyDescription: INodeProperties[] = [
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
	{
		displayName: 'Provider',
		name: 'provider',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Custom Header',
				value: 'customHeader',
				description: 'A header you name, for a provider not listed here',
			},
			{ name: 'GitHub', value: 'github', description: 'Header X-GitHub-Delivery' },
			{
				name: 'HubSpot',
				value: 'hubspot',
				description: 'Field eventId of one event — split HubSpot\'s batch into one item per event first',
			},
			{ name: 'Shopify', value: 'shopify', description: 'Header X-Shopify-Event-Id' },
			{ name: 'Slack (Events API)', value: 'slack', description: 'Body field event_id' },
			{ name: 'Standard Webhooks', value: 'standardWebhooks', description: 'Header webhook-id' },
			{ name: 'Stripe', value: 'stripe', description: 'Body field id of the event (evt_…)' },
			{ name: 'Svix', value: 'svix', description: 'Header svix-id' },
			{ name: 'Twilio', value: 'twilio', description: 'Header I-Twilio-Idempotency-Token' },
			{ name: 'Typeform', value: 'typeform', description: 'Body field event_id' },
		],
		default: 'standardWebhooks',
		description:
			'The service that calls this workflow\'s Webhook node. The Guard reads the ID that service sends unchanged on every retry of one delivery; an item without it goes to Ambiguous with reason missing_key.',
		displayOptions: { show: { keySource: ['provider'] } },
	},
	{
		displayName: 'Header Name',
		name: 'headerName',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'x-request-id',
		description: 'The request header that carries the delivery ID (any case)',
		displayOptions: { show: { keySource: ['provider'], provider: ['customHeader'] } },
	},
];
