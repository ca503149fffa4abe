// The Guard's "Webhook Provider" key source: which provider's delivery id to read (SPEC §12).
// The ids and why each is stable across retries are in engine/providerKeys.ts and the README.

import type { INodeProperties } from 'n8n-workflow';

export const providerProperties: INodeProperties[] = [
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
