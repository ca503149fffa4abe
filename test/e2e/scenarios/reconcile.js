// Reconcile (examples/reconcile-unknown-writes.json) in a real n8n, on Postgres and on Redis, after
// lead intake (examples/lead-intake.json) lost the answer of its CRM write:
// - the CRM committed, then answered after n8n's timeout → the Idempotency Trigger reports the
//   write_timeout exception, the lookup finds the contact by the idempotency key the write sent,
//   and Reconcile marks the key processed with the CRM's id: the redelivery is a Duplicate with
//   that id, no second write, nobody involved;
// - the CRM did not commit (a 504 before writing) → not found once the lease has ended plus the
//   settle delay → replayed: the next delivery writes once.
// The trigger polls every minute (n8n's minimum): this waits for one or two polls.
'use strict';

const assert = require('assert/strict');
const { variantsPerStore, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');

const LEASE_SECONDS = 4; // the Guard's lease, shortened so a claim ends within a poll
const HTTP_TIMEOUT_MS = 1000;
const CRM_ANSWERS_AFTER_MS = 3000;
const WAIT_SECONDS = 3; // the example's "let the write settle", shortened
const SETTLE_SECONDS = 2; // Reconcile's settle delay, shortened (below the wait)
const POLL_WAIT_MS = 170_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const lead = (store, what) => ({ email: `katherine+${store}-${what}@example.com`, name: 'Katherine Johnson', source: 'website-form', submissionId: `sub-${store}-${what}` });

module.exports = {
	name: 'reconcile',
	order: 80, // before trigger (85) and crash (90)
	workflows: ({ services }) =>
		variantsPerStore({
			services,
			examples: { intake: 'lead-intake', reconcile: 'reconcile-unknown-writes' },
			suffix: 'reconcile',
			tweak: (node) => {
				if (node.name === 'Idempotency Guard') node.parameters.options = { ...node.parameters.options, leaseSeconds: LEASE_SECONDS, waitSeconds: 2 };
				if (node.name === 'Upsert contact in CRM') node.parameters.options.timeout = HTTP_TIMEOUT_MS;
				if (node.name === 'Let the write settle') node.parameters.amount = WAIT_SECONDS;
				if (node.name === 'Reconcile') node.parameters.settleSeconds = SETTLE_SECONDS;
			},
		}),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;
		const committed = (store) => lead(store, 'committed');
		const lost = (store) => lead(store, 'lost');
		const keyState = async (store, body) => inspector.key(store, guardNamespace(ctx.workflows[store].intake), leadKey(body));

		await ctx.test('two writes with unknown outcomes: one the CRM committed, one it never saw', async () => {
			for (const store of STORES) {
				const path = webhookPath(ctx.workflows[store].intake);
				services.crm.delayAfterCommit(CRM_ANSWERS_AFTER_MS);
				const a = await n8n.webhook(path, committed(store));
				assert.equal(a.status, 202, a.text);
				assert.equal(a.json.reason, 'write_timeout', a.text);
				services.crm.failNext(1, 504);
				const b = await n8n.webhook(path, lost(store));
				assert.equal(b.status, 202, b.text);
				assert.equal(b.json.reason, 'write_timeout', b.text);
				assert.equal(services.crm.writeCount(committed(store).email), 1, 'the first write did commit');
				assert.equal(services.crm.writeCount(lost(store).email), 0, 'the second never reached the CRM');
			}
		});

		await ctx.test('the committed write is found and marked processed with the CRM id; its redelivery is a Duplicate, no second write', async () => {
			const t0 = Date.now();
			for (const store of STORES) {
				const deadline = Date.now() + POLL_WAIT_MS;
				let record = await keyState(store, committed(store));
				while (record.state !== 'processed' && Date.now() < deadline) {
					await sleep(2000);
					record = await keyState(store, committed(store));
				}
				assert.equal(record.state, 'processed', `${store}: ${historyOf(record).join(', ')}`);
				const contactId = services.crm.contactId(committed(store).email);
				assert.deepEqual(record.result, { contactId });
				const reconciled = record.history.find((h) => h.detail && h.detail.resolution === 'reconciled');
				assert.ok(reconciled, historyOf(record).join(', '));
				assert.equal(reconciled.detail.resolvedVia, 'reconcile');
				const { openExceptions } = await inspector.report(store, guardNamespace(ctx.workflows[store].intake));
				assert.ok(!openExceptions.some((e) => e.key === leadKey(committed(store))), 'its exception is resolved');

				const again = await n8n.webhook(webhookPath(ctx.workflows[store].intake), committed(store));
				assert.equal(again.status, 200, again.text);
				assert.deepEqual(again.json, { status: 'duplicate', contactId });
				assert.equal(services.crm.writeCount(committed(store).email), 1, 'CRM writes');
			}
			ctx.log(`      reconciled ${((Date.now() - t0) / 1000).toFixed(1)} s after the writes`);
			assert.ok(services.crm.searches.some((s) => s.field === 'idempotencyKey' && s.found === 1), 'looked up by the idempotency key');
		});

		await ctx.test('the write the CRM never saw is replayed after the lease; the next delivery writes once', async () => {
			for (const store of STORES) {
				const deadline = Date.now() + POLL_WAIT_MS;
				let record = await keyState(store, lost(store));
				while (!(record.history || []).some((h) => h.event === 'released') && Date.now() < deadline) {
					await sleep(2000);
					record = await keyState(store, lost(store));
				}
				const released = (record.history || []).find((h) => h.event === 'released');
				assert.ok(released, `${store}: ${historyOf(record).join(', ')}`);
				assert.equal(released.detail.resolvedVia, 'reconcile');
				assert.equal(released.detail.resolution, 'replay');
				assert.equal(record.state, null, 'released: no record');

				const path = webhookPath(ctx.workflows[store].intake);
				const next = await n8n.webhook(path, lost(store));
				assert.equal(next.status, 201, next.text);
				const retry = await n8n.webhook(path, lost(store));
				assert.equal(retry.status, 200, retry.text);
				assert.equal(services.crm.writeCount(lost(store).email), 1, 'CRM writes');
			}
		});
	},
};
