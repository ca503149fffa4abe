// Lead intake (examples/lead-intake.json) in a real n8n, on the Postgres store and on the
// Redis store side by side: a form submission redelivered in sequence and all at once must
// reach the CRM exactly once, every duplicate must be answered with the stored contact id,
// a CRM that refuses a write (an HTTP 500: surely not written) is retried by the next delivery,
// and a submission that cannot be keyed goes to its owner in Slack. The State Ledger's history
// of each key, read through the key inspector, tells the same story event by event.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');

// What the CRM keys contacts by (the fake normalises like the workflow does).
const crmKey = (lead) => lead.email.trim().toLowerCase();

function lead(store, label) {
	// spaces and capitals on purpose: the Guard's key normalisation must see through them
	return {
		email: `  Ada.Lovelace+${store}-${label}@Example.COM `,
		name: 'Ada Lovelace',
		source: 'website-form',
		submissionId: `sub-${store}-${label}`,
	};
}

const times = (n, value) => Array.from({ length: n }, () => value);

// The tests, on the n8n `n8n` with the lead-intake variants `workflows` ({ store: wf }) and a
// key-inspector client; scenarios/n8n-1.js runs them on n8n 1.123 too.
async function leadIntakeTests(ctx, { n8n, workflows, inspector, stores = STORES }) {
	const { services } = ctx;
	for (const store of stores) {
		const wf = workflows[store];
		const path = webhookPath(wf);
		const namespace = guardNamespace(wf);

		await ctx.test(`${store}: the same delivery sent 20 times in sequence → exactly one CRM write, duplicates get the contact id`, async () => {
			const body = lead(store, 'sequence');
			const responses = [];
			for (let i = 0; i < 20; i++) responses.push(await n8n.webhook(path, body));

			assert.equal(responses[0].status, 201, `first delivery: ${responses[0].status} ${responses[0].text}`);
			const contactId = responses[0].json.contactId;
			assert.equal(contactId, services.crm.contactId(crmKey(body)));
			responses.slice(1).forEach((r, i) => {
				assert.equal(r.status, 200, `delivery ${i + 2}: ${r.status} ${r.text}`);
				assert.deepEqual(r.json, { status: 'duplicate', contactId }, `delivery ${i + 2}`);
			});
			assert.equal(services.crm.writeCount(crmKey(body)), 1, 'CRM writes for this lead');

			const record = await inspector.key(store, namespace, leadKey(body));
			assert.equal(record.state, 'processed');
			assert.deepEqual(record.result, { contactId });
			assert.deepEqual(historyOf(record), ['claimed', 'processed', ...times(19, 'duplicate_seen')]);
		});

		await ctx.test(`${store}: 50 concurrent deliveries → exactly one CRM write, every duplicate gets the contact id`, async () => {
			const body = lead(store, 'burst');
			const responses = await Promise.all(Array.from({ length: 50 }, () => n8n.webhook(path, body)));

			const byStatus = {};
			for (const r of responses) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
			assert.deepEqual(byStatus, { 201: 1, 200: 49 }, `answers by status: ${JSON.stringify(byStatus)}; e.g. ${responses.find((r) => r.status !== 200 && r.status !== 201)?.text}`);
			const contactId = responses.find((r) => r.status === 201).json.contactId;
			for (const r of responses.filter((x) => x.status === 200)) assert.deepEqual(r.json, { status: 'duplicate', contactId });
			assert.equal(services.crm.writeCount(crmKey(body)), 1, 'CRM writes for this lead');

			const record = await inspector.key(store, namespace, leadKey(body));
			assert.deepEqual(historyOf(record), ['claimed', 'processed', ...times(49, 'duplicate_seen')]);
		});

		await ctx.test(`${store}: the CRM answers 500 (surely not written) → Mark failed; the redelivery writes once`, async () => {
			const body = lead(store, 'crm-500');
			services.crm.failNext(1, 500);
			const first = await n8n.webhook(path, body);
			assert.equal(first.status, 502, first.text);
			assert.deepEqual(first.json, { status: 'failed', retry: true });
			assert.equal(services.crm.writeCount(crmKey(body)), 0, 'CRM writes after the refused attempt');

			const again = await n8n.webhook(path, body);
			assert.equal(again.status, 201, again.text);
			assert.equal(services.crm.writeCount(crmKey(body)), 1, 'CRM writes after the retry');

			const record = await inspector.key(store, namespace, leadKey(body));
			assert.equal(record.state, 'processed');
			assert.equal(record.attempt, 2);
			assert.match(String(record.lastError ?? ''), /500/, 'the first attempt’s error is kept');
			assert.deepEqual(historyOf(record), ['claimed', 'failed', 'claimed', 'processed']);
		});
	}

	await ctx.test('nothing was sent to the exception channel', () => {
		assert.deepEqual(services.slack.messages, []);
	});

	for (const store of stores) {
		await ctx.test(`${store}: a submission without an email goes to the owner in Slack, never to the CRM`, async () => {
			const before = { slack: services.slack.messages.length, crm: services.crm.writeCount() };
			const body = { ...lead(store, 'no-email'), email: '   ' };
			const res = await n8n.webhook(webhookPath(workflows[store]), body);

			assert.equal(res.status, 202, res.text);
			assert.deepEqual(res.json, { status: 'needs_review', reason: 'missing_key', owner: '@revops-oncall' });
			const sent = services.slack.messages.slice(before.slack);
			assert.equal(sent.length, 1, 'Slack messages');
			assert.equal(sent[0].parsed.reason, 'missing_key');
			assert.equal(sent[0].parsed.owner, '@revops-oncall');
			assert.equal(services.crm.writeCount(), before.crm, 'CRM writes');
		});
	}
}

module.exports = {
	name: 'lead-intake',
	order: 10,
	workflows: ({ services }) => Object.fromEntries(STORES.map((store) => [store, prepareWorkflow('lead-intake', { services, store, pathSuffix: store })])),
	run: (ctx) => leadIntakeTests(ctx, { n8n: ctx.n8n, workflows: ctx.workflows, inspector: ctx.inspector }),
	leadIntakeTests,
};
