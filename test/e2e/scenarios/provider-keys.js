// The Guard's Webhook Provider key source behind n8n's real Webhook node (Postgres store): what
// n8n really puts in the item — header names as Node delivers them whatever the sender's case,
// a form-encoded Twilio body parsed into `body`, HubSpot's JSON array as `body` — must give the
// provider's id as the key, and the provider's retry of the same request must be a Duplicate.
// The node tests (test/nodes/providerKeys.test.ts) cover every preset on both stores; this
// checks the shape assumption they rest on against n8n itself.
'use strict';

const assert = require('assert/strict');
const crypto = require('crypto');
const { shortId } = require('../lib/workflows');

const PRESETS = ['github', 'stripe', 'twilio', 'hubspot', 'slack'];
const CREDENTIAL = { idempotencyPostgresApi: { id: 'idemStorePostgres', name: 'Idempotency Store (Postgres)' } };

// Webhook → Guard (provider) → New: Mark processed → every path: answer with `_idempotency`.
function providerWorkflow(provider) {
	const node = (name, type, typeVersion, position, parameters, extra = {}) => ({ id: crypto.randomUUID(), name, type, typeVersion, position, parameters, ...extra });
	const namespace = `provider-e2e-${provider}-${crypto.randomBytes(3).toString('hex')}`;
	const to = (name) => [{ node: name, type: 'main', index: 0 }];
	return {
		id: shortId(),
		name: `Provider key: ${provider}`,
		nodes: [
			node('Delivery', 'n8n-nodes-base.webhook', 2.1, [0, 0], { httpMethod: 'POST', path: `provider-key-${provider}`, responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} }, { webhookId: crypto.randomUUID() }),
			node('Idempotency Guard', 'n8n-nodes-idempotency.idempotencyGuard', 1, [240, 0], { store: 'postgres', namespace, keySource: 'provider', provider, fingerprint: 'none', options: {} }, { credentials: CREDENTIAL }),
			node('Mark processed', 'n8n-nodes-idempotency.stateLedger', 1, [480, -100], { store: 'postgres', namespace, operation: 'markProcessed', keySource: 'metadata', result: '={{ { handled: true } }}', options: {} }, { credentials: CREDENTIAL }),
			node('Decision', 'n8n-nodes-base.set', 3.4, [720, 0], { mode: 'raw', jsonOutput: '={{ $json._idempotency }}', options: {} }),
		],
		connections: {
			Delivery: { main: [to('Idempotency Guard')] },
			'Idempotency Guard': { main: [to('Mark processed'), to('Decision'), to('Decision')] },
			'Mark processed': { main: [to('Decision'), []] },
		},
		settings: { executionOrder: 'v1' },
		pinData: {},
		active: false,
	};
}

async function post(n8n, provider, { headers = {}, json, form }) {
	const body = form ? new URLSearchParams(form).toString() : JSON.stringify(json);
	const contentType = form ? 'application/x-www-form-urlencoded' : 'application/json';
	const res = await fetch(`${n8n.baseUrl}/webhook/provider-key-${provider}`, {
		method: 'POST',
		headers: { 'content-type': contentType, ...headers },
		body,
		signal: AbortSignal.timeout(30_000),
	});
	const text = await res.text();
	assert.equal(res.status, 200, text);
	return JSON.parse(text);
}

const hubspotEvent = (eventId, attemptNumber) => ({
	objectId: 1246965,
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

module.exports = {
	name: 'provider-keys',
	order: 35,
	workflows: () => Object.fromEntries(PRESETS.map((p) => [p, providerWorkflow(p)])),
	async run(ctx) {
		const { n8n } = ctx;
		const runId = crypto.randomBytes(4).toString('hex');

		const expectRetryIsDuplicate = async (provider, first, retry, key) => {
			const a = await post(n8n, provider, first);
			assert.equal(a.outcome, 'new', JSON.stringify(a));
			assert.equal(a.key, key);
			const b = await post(n8n, provider, retry);
			assert.equal(b.outcome, 'duplicate', JSON.stringify(b));
			assert.equal(b.reason, 'already_processed');
			assert.equal(b.key, key);
			assert.deepEqual(b.result, { handled: true });
		};

		await ctx.test('GitHub: X-GitHub-Delivery as GitHub spells it; a redelivery is a duplicate', async () => {
			const delivery = crypto.randomUUID();
			const request = (signature) => ({
				headers: { 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': delivery, 'X-Hub-Signature-256': `sha256=${signature}`, 'User-Agent': 'GitHub-Hookshot/044aadd' },
				json: { action: 'opened', issue: { number: 1347 }, repository: { full_name: 'octocat/Hello-World' } },
			});
			await expectRetryIsDuplicate('github', request('aa'), request('aa'), delivery);
		});

		await ctx.test('Stripe: the event id in the JSON body; a retry with another signature is a duplicate', async () => {
			const id = `evt_${runId}NG8Du2eZvKYlo2C`;
			const request = (t) => ({
				headers: { 'Stripe-Signature': `t=${t},v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd` },
				json: { id, object: 'event', type: 'payment_intent.succeeded', data: { object: { id: 'pi_3NG8Dt2eZvKYlo2C0bB8gM6q', object: 'payment_intent' } }, pending_webhooks: 1 },
			});
			await expectRetryIsDuplicate('stripe', request(1686089970), request(1686090030), id);
		});

		await ctx.test('Twilio: a form-encoded request, I-Twilio-Idempotency-Token; the retry is a duplicate', async () => {
			const token = crypto.randomUUID();
			const request = {
				headers: { 'I-Twilio-Idempotency-Token': token, 'X-Twilio-Signature': '0/KCTR6DLpKmkAf8muzZqo1nDgQ=' },
				form: { MessageSid: 'SM1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d', AccountSid: 'AC0123456789abcdef0123456789abcdef', From: '+14155551234', To: '+15005550006', Body: 'Hello' },
			};
			await expectRetryIsDuplicate('twilio', request, request, token);
		});

		await ctx.test('HubSpot: a batch of one event keys on its eventId (retry: attemptNumber 1); a batch of two asks to split', async () => {
			const eventId = 3_816_279_000 + Math.floor(Math.random() * 1000);
			await expectRetryIsDuplicate('hubspot', { json: [hubspotEvent(eventId, 0)] }, { json: [hubspotEvent(eventId, 1)] }, String(eventId));
			const batch = await post(n8n, 'hubspot', { json: [hubspotEvent(eventId + 1, 0), hubspotEvent(eventId + 2, 0)] });
			assert.equal(batch.reason, 'missing_key', JSON.stringify(batch));
			assert.match(batch.detail, /^HubSpot preset: cannot read eventId: body is a list of 2 events, not one: split it first/);
		});

		await ctx.test('Slack: the retry (X-Slack-Retry-Num) is a duplicate of event_id; url_verification is named', async () => {
			const eventId = `Ev${runId.toUpperCase()}`;
			const envelope = { token: 'XXYYZZ', team_id: 'T061EG9R6', type: 'event_callback', event: { type: 'message', text: 'hi' }, event_id: eventId, event_time: 1355517523 };
			await expectRetryIsDuplicate(
				'slack',
				{ headers: { 'X-Slack-Request-Timestamp': '1531420618' }, json: envelope },
				{ headers: { 'X-Slack-Request-Timestamp': '1531420680', 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' }, json: envelope },
				eventId,
			);
			const handshake = await post(n8n, 'slack', { json: { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2r', type: 'url_verification' } });
			assert.equal(handshake.reason, 'missing_key');
			assert.match(handshake.detail, /url_verification request: answer body\.challenge before the Guard/);
		});
	},
};
