// The Guard's "Webhook Provider" key source, end to end through the node on the real stores:
// each preset gets the request its provider documents, in the shape n8n's Webhook node outputs
// (`{ headers, params, query, body, webhookUrl, executionMode }`, header names lower-cased by
// Node), then the provider's retry of it — which must come back as a Duplicate.

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { mockContext, type ParameterValue } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

let namespace = '';
let store: CredentialKind = 'postgres';

const { credentials } = nodeTestStores('provider_keys', 'provider', (ns) => {
	namespace = ns;
});

type Meta = Record<string, unknown>;
const meta = (item: INodeExecutionData) => item.json._idempotency as Meta;

async function guard(items: IDataObject[], parameters: Record<string, ParameterValue>, more: { continueOnFail?: boolean } = {}) {
	const context = mockContext({
		items: items.map((json) => ({ json })),
		parameters: { store, namespace, keySource: 'provider', fingerprint: 'none', options: {}, ...parameters },
		credentials,
		...more,
	});
	const [fresh, duplicate, ambiguous] = await new IdempotencyGuard().execute.call(context);
	return { fresh, duplicate, ambiguous };
}

async function markProcessed(items: INodeExecutionData[], result: IDataObject) {
	const context = mockContext({
		items,
		nodeName: 'Ledger',
		parameters: { store, keySource: 'metadata', operation: 'markProcessed', result, options: {} },
		credentials,
	});
	const [applied] = await new StateLedger().execute.call(context);
	expect(applied).toHaveLength(items.length);
}

/** What n8n's Webhook node (v2) puts in `json` for one POST. */
function webhookItem(headers: Record<string, string>, body: unknown, path = 'hook'): IDataObject {
	return {
		headers: { host: 'n8n.example.com', 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7', ...headers },
		params: {},
		query: {},
		body: body as IDataObject,
		webhookUrl: `https://n8n.example.com/webhook/${path}`,
		executionMode: 'production',
	};
}

/** First delivery → New with the provider's id as key; after Mark Processed, the retry → Duplicate. */
async function expectRetryIsDuplicate(
	parameters: Record<string, ParameterValue>,
	original: IDataObject,
	retry: IDataObject,
	expectedKey: string,
) {
	const first = await guard([original], parameters);
	expect(first.ambiguous.map(meta)).toEqual([]);
	expect(first.fresh).toHaveLength(1);
	expect(meta(first.fresh[0])).toMatchObject({ key: expectedKey, outcome: 'new', reason: 'first_seen' });
	await markProcessed(first.fresh, { handled: expectedKey });

	const again = await guard([retry], parameters);
	expect(again.fresh).toHaveLength(0);
	expect(again.duplicate).toHaveLength(1);
	expect(meta(again.duplicate[0])).toMatchObject({
		key: expectedKey,
		outcome: 'duplicate',
		reason: 'already_processed',
		result: { handled: expectedKey },
	});
}

// ---- provider-shaped requests ------------------------------------------------------------

const standardWebhooks = (signature: string, timestamp: string) =>
	webhookItem(
		{
			'user-agent': 'Svix-Webhooks/1.24.0',
			'webhook-id': 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
			'webhook-timestamp': timestamp,
			'webhook-signature': `v1,${signature}`,
		},
		{ type: 'contact.created', timestamp: '2022-11-03T20:26:10.344522Z', data: { id: '1f81eb52-5198-4599-803e-771906343485', type: 'contact' } },
	);

const svix = (signature: string, timestamp: string) =>
	webhookItem(
		{
			'user-agent': 'Svix-Webhooks/1.24.0',
			'svix-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
			'svix-timestamp': timestamp,
			'svix-signature': `v1,${signature}`,
		},
		{ type: 'invoice.paid', id: 'invoice_WF7WtCLFFtd8ubcTgboSFNql', status: 'paid', attempt: 2 },
	);

const stripeEvent = (id: string, pendingWebhooks: number, signature: string) =>
	webhookItem(
		{
			'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
			'stripe-signature': `t=1686089970,v1=${signature}`,
			'content-type': 'application/json; charset=utf-8',
		},
		{
			id,
			object: 'event',
			api_version: '2023-10-16',
			created: 1686089970,
			data: {
				object: { id: 'pi_3NG8Dt2eZvKYlo2C0bB8gM6q', object: 'payment_intent', amount: 2000, currency: 'usd', status: 'succeeded' },
			},
			livemode: false,
			pending_webhooks: pendingWebhooks,
			request: { id: 'req_k3Ew1ZbqXnQZpU', idempotency_key: '1b1e93b4-a5bc-4d80-8c0b-8d1d3c4ba3e1' },
			type: 'payment_intent.succeeded',
		},
	);

const github = (delivery: string, signature: string) =>
	webhookItem(
		{
			'user-agent': 'GitHub-Hookshot/044aadd',
			'x-github-event': 'issues',
			'x-github-delivery': delivery,
			'x-github-hook-id': '292430182',
			'x-github-hook-installation-target-id': '79929171',
			'x-github-hook-installation-target-type': 'repository',
			'x-hub-signature-256': `sha256=${signature}`,
		},
		{ action: 'opened', issue: { number: 1347, title: 'Found a bug' }, repository: { id: 1296269, full_name: 'octocat/Hello-World' } },
	);

const shopify = (webhookId: string, eventId: string) =>
	webhookItem(
		{
			'user-agent': 'Shopify-Captain-Hook',
			'x-shopify-topic': 'orders/create',
			'x-shopify-hmac-sha256': 'XWmrwMey6OsLMeiZKwP4FppHH3cmAiiJJAweH5Jo4bM=',
			'x-shopify-shop-domain': 'example-shop.myshopify.com',
			'x-shopify-api-version': '2025-07',
			'x-shopify-webhook-id': webhookId,
			'x-shopify-triggered-at': '2025-07-21T19:27:17.108713389Z',
			'x-shopify-event-id': eventId,
		},
		{ id: 820982911946154500, name: '#9999', email: 'jon@example.com', total_price: '403.00', currency: 'USD' },
	);

const slackEnvelope = (eventId: string) => ({
	token: 'XXYYZZ',
	team_id: 'T061EG9R6',
	api_app_id: 'A0PNCHHK2',
	event: { type: 'message', channel: 'C2147483705', user: 'U2147483697', text: 'Live long and prospect.', ts: '1355517523.000005', event_ts: '1355517523.000005', channel_type: 'channel' },
	type: 'event_callback',
	authorizations: [{ enterprise_id: null, team_id: 'T061EG9R6', user_id: 'U0JD3BPNC', is_bot: true, is_enterprise_install: false }],
	event_context: '1-message-T061EG9R6-C2147483705',
	event_id: eventId,
	event_time: 1355517523,
});
const slack = (retry: number | null, body: unknown = slackEnvelope('Ev0PV52K25')) =>
	webhookItem(
		{
			'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
			'x-slack-request-timestamp': String(1531420618 + (retry ?? 0)),
			'x-slack-signature': `v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50${retry ?? 0}`,
			...(retry === null ? {} : { 'x-slack-retry-num': String(retry), 'x-slack-retry-reason': 'http_timeout' }),
		},
		body,
	);

const typeform = (signature: string) =>
	webhookItem(
		{ 'user-agent': 'Typeform Webhooks', 'typeform-signature': `sha256=${signature}` },
		{
			event_id: '01HBZ6D1Y2FQ0R8JQX6W3E0S7K',
			event_type: 'form_response',
			form_response: {
				form_id: 'lT4Z3j',
				token: 'a3a12ec67a1365927098a606107fac15',
				landed_at: '2023-10-01T09:59:12Z',
				submitted_at: '2023-10-01T10:00:04Z',
				definition: { id: 'lT4Z3j', title: 'Webhooks example' },
				answers: [{ type: 'email', email: 'laura@example.com', field: { id: 'SMEUb7VJz92Q', type: 'email' } }],
			},
		},
	);

const hubspotEvent = (eventId: number, objectId: number, attemptNumber: number) => ({
	objectId,
	propertyName: 'lifecyclestage',
	propertyValue: 'subscriber',
	changeSource: 'CRM_UI',
	eventId,
	subscriptionId: 25,
	portalId: 33,
	appId: 1160452,
	occurredAt: 1462216307945,
	subscriptionType: 'contact.propertyChange',
	attemptNumber,
});
const hubspot = (events: unknown[]) =>
	webhookItem(
		{
			'user-agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor',
			'x-hubspot-signature-v3': 'sha256=NGZlYTU5ZjQ2ZmE3',
			'x-hubspot-signature-version': 'v3',
			'x-hubspot-request-timestamp': '1462216308245',
		},
		events,
	);

const twilio = (token: string, signature: string) =>
	webhookItem(
		{
			'user-agent': 'TwilioProxy/1.1',
			'content-type': 'application/x-www-form-urlencoded',
			'i-twilio-idempotency-token': token,
			'x-twilio-signature': signature,
			'x-home-region': 'us1',
		},
		{
			ToCountry: 'US',
			SmsMessageSid: 'SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
			NumMedia: '0',
			SmsSid: 'SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
			SmsStatus: 'received',
			Body: 'Hello',
			To: '+15005550006',
			NumSegments: '1',
			MessageSid: 'SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d',
			AccountSid: 'AC0123456789abcdef0123456789abcdef',
			From: '+14155551234',
			ApiVersion: '2010-04-01',
		},
	);

// ---- tests -------------------------------------------------------------------------------

describe.each(CREDENTIAL_KINDS)('Guard keyed on a webhook provider, on %s', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('Standard Webhooks: a resend with a new timestamp and signature is a duplicate of webhook-id', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'standardWebhooks' },
			standardWebhooks('K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=', '1674087231'),
			standardWebhooks('Gm7B9vX4JZ0wQcdm1a0c1o5jQm8rG7bE3q9CwA0x0lE=', '1674087291'),
			'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W',
		);
	});

	it('Svix: a retry with a new svix-timestamp and svix-signature is a duplicate of svix-id', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'svix' },
			svix('g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=', '1614265330'),
			svix('2g6Sl3JdGkZ2W/sOv86fMYC3pQ1fw7BvyFNmWzC3Bts=', '1614265390'),
			'msg_p5jXN8AQM9LWM0D4loKWxJek',
		);
	});

	it('Stripe: a retried event (other signature, pending_webhooks) is a duplicate of the event id', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'stripe' },
			stripeEvent('evt_1NG8Du2eZvKYlo2CUI79vXWy', 1, '5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd'),
			stripeEvent('evt_1NG8Du2eZvKYlo2CUI79vXWy', 2, '0cbf2b1f5e1f4e0e7a3c8a2c1d7cfb9b1a5f0e3d2c1b0a99887766554433221a'),
			'evt_1NG8Du2eZvKYlo2CUI79vXWy',
		);
		const other = await guard([stripeEvent('evt_1NG8Du2eZvKYlo2CUI79vXWz', 1, 'aa')], { provider: 'stripe' });
		expect(other.fresh.map((i) => meta(i).key)).toEqual(['evt_1NG8Du2eZvKYlo2CUI79vXWz']);
	});

	it('GitHub: a redelivery keeps X-GitHub-Delivery and is a duplicate', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'github' },
			github('72d3162e-cc78-11e3-81ab-4c9367dc0958', 'd57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c'),
			github('72d3162e-cc78-11e3-81ab-4c9367dc0958', 'd57c68ca6f92289e6987922ff26938930f6e66a2d161ef06abdf1859230aa23c'),
			'72d3162e-cc78-11e3-81ab-4c9367dc0958',
		);
	});

	it('Shopify: a retry, and the same event delivered to a second subscription, are duplicates of X-Shopify-Event-Id', async () => {
		const eventId = '98880550-7158-44d4-b7cd-2c97c8a091b5';
		await expectRetryIsDuplicate(
			{ provider: 'shopify' },
			shopify('b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', eventId),
			shopify('b54557e4-bdd9-4b37-8a5f-bf7d70bcd043', eventId),
			eventId,
		);
		const secondSubscription = await guard([shopify('0c5a7f1e-4a1b-4a59-9d5b-1b2a3c4d5e6f', eventId)], { provider: 'shopify' });
		expect(secondSubscription.duplicate.map((i) => meta(i).key)).toEqual([eventId]);
	});

	it('Slack: a retry with X-Slack-Retry-Num is a duplicate of the envelope event_id', async () => {
		await expectRetryIsDuplicate({ provider: 'slack' }, slack(null), slack(1), 'Ev0PV52K25');
	});

	it('Typeform: a retried form_response is a duplicate of event_id', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'typeform' },
			typeform('bGl0dGxlIHNpZ25hdHVyZQ=='),
			typeform('bGl0dGxlIHNpZ25hdHVyZQ=='),
			'01HBZ6D1Y2FQ0R8JQX6W3E0S7K',
		);
	});

	it('HubSpot: split events get their eventId; a retry (attemptNumber 1) in a batch of one is a duplicate', async () => {
		// After Split Out on "body", each item is one HubSpot event object.
		const split = [hubspotEvent(3816279340, 1246965, 0), hubspotEvent(3816279341, 1246978, 0)];
		const first = await guard(split, { provider: 'hubspot' });
		expect(first.fresh.map((i) => meta(i).key)).toEqual(['3816279340', '3816279341']);
		await markProcessed(first.fresh, { handled: true });

		const retry = await guard([hubspot([hubspotEvent(3816279341, 1246978, 1)])], { provider: 'hubspot' });
		expect(retry.fresh).toHaveLength(0);
		expect(retry.duplicate.map((i) => meta(i))).toEqual([
			expect.objectContaining({ key: '3816279341', reason: 'already_processed', result: { handled: true } }),
		]);
	});

	it('Twilio: a retry keeps I-Twilio-Idempotency-Token and is a duplicate', async () => {
		await expectRetryIsDuplicate(
			{ provider: 'twilio' },
			twilio('b5a1c79b-5c1d-4b9e-a1f0-6e2c0e1c7d4a', '0/KCTR6DLpKmkAf8muzZqo1nDgQ='),
			twilio('b5a1c79b-5c1d-4b9e-a1f0-6e2c0e1c7d4a', '0/KCTR6DLpKmkAf8muzZqo1nDgQ='),
			'b5a1c79b-5c1d-4b9e-a1f0-6e2c0e1c7d4a',
		);
	});

	it('Custom Header: reads the named header whatever the case of the name or of the item\'s header', async () => {
		const item = (id: string) => ({ ...webhookItem({}, { order: 7 }), headers: { 'X-Request-ID': id, host: 'n8n.example.com' } });
		await expectRetryIsDuplicate({ provider: 'customHeader', headerName: '  X-Request-Id ' }, item('req-42'), item('req-42'), 'req-42');
	});
});

describe('Guard keyed on a webhook provider: missing and unusable ids', () => {
	beforeAll(() => {
		store = 'postgres';
	});

	it('routes a request without the header to Ambiguous missing_key, naming the preset and the header', async () => {
		const withoutDelivery = github('x', 'y');
		delete (withoutDelivery.headers as IDataObject)['x-github-delivery'];
		const { fresh, ambiguous } = await guard([withoutDelivery], { provider: 'github' });
		expect(fresh).toHaveLength(0);
		expect(meta(ambiguous[0])).toMatchObject({ outcome: 'ambiguous', reason: 'missing_key', key: null });
		expect(meta(ambiguous[0]).detail).toBe('GitHub preset: header x-github-delivery is missing');
	});

	it('routes an item without headers (reshaped after the Webhook node) to missing_key with the fix', async () => {
		const { ambiguous } = await guard([{ body: { id: 1 } }], { provider: 'svix' });
		expect(meta(ambiguous[0]).detail).toMatch(/^Svix preset: header svix-id is missing: the item has no headers/);
	});

	it('routes a body without the field to missing_key, naming the preset and body path', async () => {
		const body = { ...slackEnvelope('x') } as IDataObject;
		delete body.event_id;
		const { ambiguous } = await guard([slack(null, body)], { provider: 'slack' });
		expect(meta(ambiguous[0])).toMatchObject({ reason: 'missing_key', detail: 'Slack preset: body.event_id is missing' });
	});

	it('names Slack\'s url_verification handshake when it reaches the Guard', async () => {
		const handshake = { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' };
		const { ambiguous } = await guard([slack(null, handshake)], { provider: 'slack' });
		expect(meta(ambiguous[0]).detail).toBe(
			"Slack preset: body.event_id is missing (this is Slack's url_verification request: answer body.challenge before the Guard)",
		);
	});

	it('refuses a Stripe body id that is not an event id (evt_…)', async () => {
		const notAnEvent = webhookItem({}, { id: 'pi_3NG8Dt2eZvKYlo2C0bB8gM6q', object: 'payment_intent' });
		const { fresh, ambiguous } = await guard([notAnEvent], { provider: 'stripe' });
		expect(fresh).toHaveLength(0);
		expect(meta(ambiguous[0]).detail).toBe(
			'Stripe preset: body.id is "pi_3NG8Dt2eZvKYlo2C0bB8gM6q", not an event id (evt_…) — is this item a Stripe event?',
		);
	});

	it('routes a HubSpot batch of several events in one item to missing_key, asking to split it', async () => {
		const batch = hubspot([hubspotEvent(1, 10, 0), hubspotEvent(2, 11, 0)]);
		const { fresh, ambiguous } = await guard([batch], { provider: 'hubspot' });
		expect(fresh).toHaveLength(0);
		expect(meta(ambiguous[0]).detail).toBe(
			'HubSpot preset: cannot read eventId: body is a list of 2 events, not one: split it first (Split Out, field "body") so that each item is one event',
		);
	});

	it('accepts a HubSpot webhook whose body is one event object', async () => {
		const { fresh } = await guard([webhookItem({}, hubspotEvent(77, 10, 0))], { provider: 'hubspot' });
		expect(fresh.map((i) => meta(i).key)).toEqual(['77']);
	});

	it('fails with onMissingKey = error, naming the item index and the preset', async () => {
		const items = [github('ok-1', 's'), { ...github('x', 's'), headers: {} }];
		await expect(guard(items, { provider: 'github', options: { onMissingKey: 'error' } })).rejects.toThrow(
			'Item 1 has no usable business key: GitHub preset: header x-github-delivery is missing',
		);
	});

	it('sends the same id through the common key rules: hashKeys stores sha256 of it', async () => {
		const { fresh } = await guard([github('72d3162e-cc78-11e3-81ab-4c9367dc0958', 's')], { provider: 'github', options: { hashKeys: true } });
		expect(meta(fresh[0]).key).toMatch(/^sha256:[0-9a-f]{64}$/);
		expect(meta(fresh[0]).key).not.toContain('72d3162e');
	});

	it('refuses Custom Header without a usable header name before touching any item', async () => {
		await expect(guard([github('a', 'b')], { provider: 'customHeader', headerName: ' ' })).rejects.toThrow('No header name is set');
		await expect(guard([github('a', 'b')], { provider: 'customHeader', headerName: 'x-id: 1' })).rejects.toThrow(
			'"x-id: 1" is not a header name',
		);
	});

	it('refuses an unknown provider value', async () => {
		await expect(guard([github('a', 'b')], { provider: 'paypal' })).rejects.toThrow('Unknown webhook provider "paypal"');
	});
});
