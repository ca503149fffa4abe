// The Idempotency Trigger in a real n8n: a crashed write (the Guard claims, nothing ever marks the
// key processed, the lease is 2 s) fires the trigger exactly once, on Postgres and on Redis; a
// second one, made just before n8n restarts, fires once after the restart — neither event is
// repeated by the polls that follow, including the restart's activation poll; the redelivery of
// that key (ambiguous lease_expired → Exception Router) fires once as an exception.
// The trigger polls every minute (n8n's minimum), so this waits for up to two polls.
'use strict';

const assert = require('assert/strict');
const crypto = require('crypto');
const { PACKAGE, shortId, PLACEHOLDERS } = require('../lib/workflows');
const { STORES } = require('../lib/inspector');

const LEASE_SECONDS = 2;
const POLL_WAIT_MS = 150_000; // one poll a minute, plus the trigger's 5 s settle, plus slack

const CREDENTIALS = {
	postgres: { idempotencyPostgresApi: { id: 'idemStorePostgres', name: 'Idempotency Store (Postgres)' } },
	redis: { idempotencyRedisApi: { id: 'idemStoreRedis', name: 'Idempotency Store (Redis)' } },
};

const node = (name, type, parameters, more = {}) => ({ id: crypto.randomUUID(), name, type, typeVersion: 1, position: [0, 0], parameters, ...more });

/** Webhook → Guard (short lease); New answers "claimed" and never marks the key processed: the crashed write. */
function crashedWrites(store, namespace) {
	const respond = (name, body, code) =>
		node(name, 'n8n-nodes-base.respondToWebhook', { respondWith: 'json', responseBody: body, options: { responseCode: code } }, { typeVersion: 1.5 });
	return {
		id: shortId(),
		name: `Crashed writes [${store}]`,
		settings: { executionOrder: 'v1' },
		nodes: [
			node('Delivery', 'n8n-nodes-base.webhook', { httpMethod: 'POST', path: `trigger-writes-${store}`, responseMode: 'responseNode', options: {} }, { typeVersion: 2.1, webhookId: crypto.randomUUID() }),
			node('Guard', `${PACKAGE}.idempotencyGuard`, { store, namespace, keySource: 'fields', keyFields: 'body.id', fingerprint: 'none', options: { leaseSeconds: LEASE_SECONDS } }, { credentials: CREDENTIALS[store] }),
			respond('Claimed (the write then crashes)', "={{ { status: 'claimed', key: $json._idempotency.key } }}", 200),
			respond('Duplicate', "={{ { status: 'duplicate' } }}", 200),
			node('Router', `${PACKAGE}.exceptionRouter`, { store, namespace, operation: 'route', reason: 'fromItem', rules: { rule: [{ outputName: 'Ops', reasons: [], owner: '@ops-oncall', severity: 'high' }] }, fallbackOwner: '@ops-lead', options: {} }, { credentials: CREDENTIALS[store] }),
			respond('Needs review', "={{ { status: 'needs_review', reason: $json.exception.reason } }}", 202),
		],
		connections: {
			Delivery: { main: [[{ node: 'Guard', type: 'main', index: 0 }]] },
			Guard: { main: [[{ node: 'Claimed (the write then crashes)', type: 'main', index: 0 }], [{ node: 'Duplicate', type: 'main', index: 0 }], [{ node: 'Router', type: 'main', index: 0 }]] },
			Router: { main: [[{ node: 'Needs review', type: 'main', index: 0 }], [{ node: 'Needs review', type: 'main', index: 0 }]] },
		},
	};
}

/** Idempotency Trigger (every minute) → one POST per event to the fake Slack, at a path per store. */
function alerts(store, namespace, slackUrl) {
	return {
		id: shortId(),
		name: `Idempotency alerts [${store}]`,
		settings: { executionOrder: 'v1' },
		nodes: [
			node('Idempotency Trigger', `${PACKAGE}.idempotencyTrigger`, { store, namespace, events: ['stuckClaims', 'exceptions'], pollTimes: { item: [{ mode: 'everyMinute' }] } }, { credentials: CREDENTIALS[store] }),
			node(
				'Tell Slack',
				'n8n-nodes-base.httpRequest',
				{
					method: 'POST',
					url: `${slackUrl}/trigger-${store}`,
					sendBody: true,
					specifyBody: 'json',
					jsonBody:
						"={{ JSON.stringify($json.event === 'exception' ? { event: $json.event, eventId: $json.eventId, key: $json.exception.key, reason: $json.exception.reason, text: $json.slack.text, blocks: $json.slack.blocks } : { event: $json.event, eventId: $json.eventId, key: $json._idempotency.key, reason: $json._idempotency.reason, text: 'Stuck claim ' + $json._idempotency.key }) }}",
					options: { timeout: 10000 },
				},
				{ typeVersion: 4.2 },
			),
		],
		connections: { 'Idempotency Trigger': { main: [[{ node: 'Tell Slack', type: 'main', index: 0 }]] } },
	};
}

module.exports = {
	name: 'trigger',
	order: 85, // before crash (90): it restarts the shared n8n too
	workflows: ({ services }) => {
		const slackUrl = services.slack ? services.slack.url : PLACEHOLDERS.slack;
		const run = crypto.randomBytes(3).toString('hex');
		return Object.fromEntries(
			STORES.map((store) => {
				const namespace = `trigger-e2e-${store}-${run}`;
				return [store, { writes: crashedWrites(store, namespace), alerts: alerts(store, namespace, slackUrl) }];
			}),
		);
	},
	async run(ctx) {
		const { services, n8n } = ctx;
		const run = crypto.randomBytes(3).toString('hex');
		const k1 = `order-${run}-1`;
		const k2 = `order-${run}-2`;
		const sent = (store) => services.slack.messages.filter((m) => m.path === `/trigger-${store}`).map((m) => `${m.event}:${m.key}:${m.reason}`);
		const deliver = async (store, id) => n8n.webhook(ctx.workflows[store].writes.nodes[0].parameters.path, { id });
		const waitForAlert = (alert) => services.slack.waitFor(() => STORES.every((store) => sent(store).includes(alert)), POLL_WAIT_MS);

		await ctx.test('a crashed write (claimed, never marked processed) fires the trigger once, on both stores', async () => {
			for (const store of STORES) {
				const res = await deliver(store, k1);
				assert.equal(res.status, 200, res.text);
				assert.deepEqual(res.json, { status: 'claimed', key: k1 });
			}
			const t0 = Date.now();
			await waitForAlert(`stuckClaim:${k1}:lease_expired`);
			ctx.log(`      trigger fired ${((Date.now() - t0) / 1000).toFixed(1)} s after the crashed writes`);
			for (const store of STORES) assert.deepEqual(sent(store), [`stuckClaim:${k1}:lease_expired`], store);
		});

		await ctx.test('a claim that goes stale while n8n restarts fires once after it; nothing is repeated', async () => {
			for (const store of STORES) assert.equal((await deliver(store, k2)).status, 200);
			await n8n.restart();
			await waitForAlert(`stuckClaim:${k2}:lease_expired`);
			for (const store of STORES) assert.deepEqual(sent(store), [`stuckClaim:${k1}:lease_expired`, `stuckClaim:${k2}:lease_expired`], store);
		});

		await ctx.test('its redelivery (ambiguous lease_expired → Router) fires once as an exception; no event twice', async () => {
			for (const store of STORES) {
				const res = await deliver(store, k2);
				assert.equal(res.status, 202, res.text);
				assert.deepEqual(res.json, { status: 'needs_review', reason: 'lease_expired' });
			}
			// Arrives one poll later than the restart's: every poll in between repeated nothing.
			await waitForAlert(`exception:${k2}:lease_expired`);
			for (const store of STORES) {
				assert.deepEqual(sent(store), [`stuckClaim:${k1}:lease_expired`, `stuckClaim:${k2}:lease_expired`, `exception:${k2}:lease_expired`], store);
				const message = services.slack.messages.find((m) => m.path === `/trigger-${store}` && m.event === 'exception');
				assert.equal(message.parsed.reason, 'lease_expired');
				assert.equal(message.parsed.owner, '@ops-oncall');
			}
		});
	},
};
