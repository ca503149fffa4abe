// Lead intake (examples/lead-intake.json) in a real n8n, on the Postgres store and on the
// Redis store side by side: a form submission redelivered in sequence and all at once must
// reach the CRM exactly once, every duplicate must be answered with the stored contact id,
// and a submission that cannot be keyed goes to its owner in Slack.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, makeStoreCredentials } = require('../lib/workflows');

const STORES = ['postgres', 'redis'];

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

module.exports = {
	name: 'lead-intake',
	async run(ctx) {
		const { services } = ctx;
		const stores = makeStoreCredentials();
		ctx.onCleanup(stores.cleanup);
		const variants = STORES.map((store) => ({ store, wf: prepareWorkflow('lead-intake', { services, store, pathSuffix: store }) }));
		const n8n = await ctx.startN8n({ packed: ctx.packed, credentials: stores.credentials, workflows: variants.map((v) => v.wf) });

		for (const { store, wf } of variants) {
			const path = webhookPath(wf);

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
			});
		}

		await ctx.test('nothing was sent to the exception channel', () => {
			assert.deepEqual(services.slack.messages, []);
		});

		for (const { store, wf } of variants) {
			await ctx.test(`${store}: a submission without an email goes to the owner in Slack, never to the CRM`, async () => {
				const before = { slack: services.slack.messages.length, crm: services.crm.writeCount() };
				const body = { ...lead(store, 'no-email'), email: '   ' };
				const res = await n8n.webhook(webhookPath(wf), body);

				assert.equal(res.status, 202, res.text);
				assert.deepEqual(res.json, { status: 'needs_review', reason: 'missing_key', owner: '@revops-oncall' });
				const sent = services.slack.messages.slice(before.slack);
				assert.equal(sent.length, 1, 'Slack messages');
				assert.equal(sent[0].parsed.reason, 'missing_key');
				assert.equal(sent[0].parsed.owner, '@revops-oncall');
				assert.equal(services.crm.writeCount(), before.crm, 'CRM writes');
			});
		}
	},
};
