// A crash after the CRM committed, healed by Reconcile: n8n is killed with SIGKILL while lead
// intake waits on a CRM that has already written the contact, so nothing settles the claim. After
// the restart, examples/reconcile-unknown-writes.json (Idempotency Trigger → Wait → CRM search by
// the idempotency key → Reconcile) finds the stuck claim once its lease ends, finds the contact and
// marks the key processed with the CRM's id: the redelivery is a Duplicate with that id, and the
// CRM has one write. On Postgres and on Redis. It kills the shared n8n, so it runs after crash.
'use strict';

const assert = require('assert/strict');
const { variantsPerStore, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');
const { killWhileCrmHoldsAnswers } = require('./crash');

const LEASE_SECONDS = 4; // the Guard's lease, shortened so the claim is stuck within a poll
const CRM_HOLDS_ANSWER_MS = 120_000; // the CRM commits, then holds its answer: n8n waits in the write
const WAIT_SECONDS = 3; // the example's "let the write settle", shortened
const SETTLE_SECONDS = 2; // Reconcile's settle delay, shortened (below the wait)
const POLL_WAIT_MS = 170_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const lead = (store) => ({ email: `dorothy+${store}-crash@example.com`, name: 'Dorothy Vaughan', source: 'website-form', submissionId: `sub-${store}-crash-reconcile` });

module.exports = {
	name: 'crash-reconcile',
	order: 95, // kills the shared n8n: after crash (90), the last on it
	workflows: ({ services }) =>
		variantsPerStore({
			services,
			examples: { intake: 'lead-intake', reconcile: 'reconcile-unknown-writes' },
			suffix: 'crash-reconcile',
			tweak: (node) => {
				if (node.name === 'Idempotency Guard') node.parameters.options = { ...node.parameters.options, leaseSeconds: LEASE_SECONDS, waitSeconds: 2 };
				if (node.name === 'Upsert contact in CRM') node.parameters.options.timeout = CRM_HOLDS_ANSWER_MS + 60_000;
				if (node.name === 'Let the write settle') node.parameters.amount = WAIT_SECONDS;
				if (node.name === 'Reconcile') node.parameters.settleSeconds = SETTLE_SECONDS;
			},
		}),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;
		const variants = STORES.map((store) => {
			const wf = ctx.workflows[store].intake;
			const body = lead(store);
			return { store, path: webhookPath(wf), namespace: guardNamespace(wf), body, crmKey: body.email, key: leadKey(body) };
		});

		await ctx.test('kill -9 n8n while both executions wait on the CRM after it committed; n8n restarts', async () => {
			await killWhileCrmHoldsAnswers(ctx, variants, CRM_HOLDS_ANSWER_MS);
		});

		for (const v of variants) {
			await ctx.test(`${v.store}: the stuck claim is reconciled → processed with the CRM's id; the redelivery is a Duplicate; 1 CRM write`, async () => {
				const deadline = Date.now() + POLL_WAIT_MS;
				let record = await inspector.key(v.store, v.namespace, v.key);
				while (record.state !== 'processed' && Date.now() < deadline) {
					await sleep(2000);
					record = await inspector.key(v.store, v.namespace, v.key);
				}
				assert.equal(record.state, 'processed', historyOf(record).join(', '));
				const contactId = services.crm.contactId(v.crmKey);
				assert.ok(contactId);
				assert.deepEqual(record.result, { contactId });
				const reconciled = record.history.find((h) => h.detail && h.detail.resolution === 'reconciled');
				assert.ok(reconciled, historyOf(record).join(', '));
				assert.equal(reconciled.detail.resolvedVia, 'reconcile');

				const again = await n8n.webhook(v.path, v.body);
				assert.equal(again.status, 200, again.text);
				assert.deepEqual(again.json, { status: 'duplicate', contactId });
				assert.equal(services.crm.writeCount(v.crmKey), 1, 'CRM writes');
				assert.equal(services.crm.state.requests.filter((q) => q.method === 'POST' && q.body.email === v.crmKey).length, 1, 'POSTs the CRM received for this lead');
			});
		}
	},
};
