// n8n in queue mode: one main that takes the webhooks and two `n8n worker` processes that run
// the executions (EXECUTIONS_MODE=queue, Bull on the local Redis under a prefix of its own).
// 200 deliveries over 20 leads, all at once, per store: the Guard's claim is decided inside the
// store, so two workers racing on one key still make exactly one CRM write per lead. Both
// workers must have run some of the executions, or the race was not a race.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, guardNamespace, makeStoreCredentials } = require('../lib/workflows');
const { inspectorWorkflows, inspectorClient, historyOf, leadKey, STORES } = require('../lib/inspector');

const LEADS = 20;
const DELIVERIES = 200;
const WORKERS = 2;
const CONCURRENCY = 10; // executions per worker at a time

const lead = (store, i) => ({
	email: `queue-lead-${i}+${store}@example.com`,
	name: `Queue Lead ${i}`,
	source: 'website-form',
	submissionId: `sub-${store}-queue-${i}`,
});

// every lead delivered DELIVERIES / LEADS times, in a shuffled order
function deliveries(store) {
	const list = Array.from({ length: DELIVERIES }, (_, n) => lead(store, n % LEADS));
	for (let i = list.length - 1; i > 0; i--) {
		const j = Math.floor(Math.random() * (i + 1));
		[list[i], list[j]] = [list[j], list[i]];
	}
	return list;
}

module.exports = {
	name: 'queue-mode',
	order: 95,
	async run(ctx) {
		const { services } = ctx;
		const stores = makeStoreCredentials();
		ctx.onCleanup(stores.cleanup);
		const workflows = Object.fromEntries(
			STORES.map((store) => [store, prepareWorkflow('lead-intake', { services, store, pathSuffix: `${store}-queue`, namespaceSuffix: 'queue' })]),
		);
		const inspector = inspectorWorkflows(STORES, '-queue');
		const n8n = await ctx.startN8n({
			packed: ctx.packed,
			credentials: stores.credentials,
			workflows: [...Object.values(workflows), ...Object.values(inspector)],
			queue: { workers: WORKERS, concurrency: CONCURRENCY },
		});
		const ask = inspectorClient(n8n, inspector);

		for (const store of STORES) {
			const wf = workflows[store];
			await ctx.test(`${store}: ${DELIVERIES} concurrent deliveries over ${LEADS} leads on ${WORKERS} workers → exactly ${LEADS} CRM writes`, async () => {
				const before = n8n.executionsPerWorker();
				const sent = deliveries(store);
				const t0 = Date.now();
				const responses = await Promise.all(sent.map((body) => n8n.webhook(webhookPath(wf), body, { timeoutMs: 180_000 })));
				ctx.log(`${store}: ${DELIVERIES} deliveries answered in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

				const byStatus = {};
				for (const r of responses) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
				assert.deepEqual(byStatus, { 201: LEADS, 200: DELIVERIES - LEADS }, `answers by status: ${JSON.stringify(byStatus)}; e.g. ${responses.find((r) => r.status !== 200 && r.status !== 201)?.text}`);
				for (let i = 0; i < LEADS; i++) {
					const email = lead(store, i).email;
					assert.equal(services.crm.writeCount(email), 1, `CRM writes for lead ${i}`);
					const contactId = services.crm.contactId(email);
					responses.forEach((r, n) => {
						if (sent[n].email === email) assert.equal(r.json.contactId, contactId, `delivery ${n} of lead ${i}: ${r.text}`);
					});
				}
				assert.equal(services.crm.writeCount(), LEADS * (STORES.indexOf(store) + 1), 'CRM writes in all');

				const after = n8n.executionsPerWorker();
				const ran = Object.fromEntries(Object.keys(after).map((w) => [w, after[w] - (before[w] || 0)]));
				ctx.log(`${store}: executions per worker ${JSON.stringify(ran)}`);
				for (const [worker, count] of Object.entries(ran)) assert.ok(count > 0, `${worker} ran no execution: ${JSON.stringify(ran)}`);
				assert.ok(Object.values(ran).reduce((a, b) => a + b, 0) >= DELIVERIES, `the workers ran ${JSON.stringify(ran)} of ${DELIVERIES}`);
			});

			await ctx.test(`${store}: the State Ledger's history of a lead: one claim, processed, then only duplicates`, async () => {
				const body = lead(store, 0);
				const record = await ask.key(store, guardNamespace(wf), leadKey(body));
				assert.equal(record.state, 'processed');
				assert.deepEqual(record.result, { contactId: services.crm.contactId(body.email) });
				assert.deepEqual(historyOf(record), ['claimed', 'processed', ...Array(DELIVERIES / LEADS - 1).fill('duplicate_seen')]);
			});
		}
	},
};
