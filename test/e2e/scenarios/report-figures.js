// The State Ledger's Report (README "The weekly numbers") against the truth: a storm of lead-intake
// deliveries (one lead redelivered in sequence, two leads redelivered all at once, a CRM that
// refuses a write and its redelivery) into a namespace of its own, then the Report read through
// n8n — the key inspector with its Stats node switched to Report. Its figures must equal what the
// harness sent and what the fake CRM counted: deliveries = webhooks sent, duplicates stopped =
// deliveries answered "duplicate", new = POSTs that reached the CRM, processed = contacts written,
// failed / retries that then succeeded = the refused write and its redelivery.
'use strict';

const assert = require('assert/strict');
const { variantsPerStore, webhookPath, guardNamespace } = require('../lib/workflows');
const { STORES } = require('../lib/inspector');

const SEQUENTIAL = 6; // one lead, one delivery after the other
const CONCURRENT = 12; // each of two leads, all at once

const lead = (store, label) => ({ email: `grace+${store}-${label}@example.com`, name: 'Grace Hopper', source: 'website-form', submissionId: `sub-${store}-report-${label}` });
const crmKey = (l) => l.email.trim().toLowerCase();

module.exports = {
	name: 'report-figures',
	order: 40,
	workflows: ({ services }) =>
		variantsPerStore({
			services,
			examples: { intake: 'lead-intake', report: 'key-inspector' },
			suffix: 'report-figures',
			tweak: (node) => {
				// The namespace webhook answers with the Report (today and yesterday, by day) instead of Stats.
				if (node.name === 'Count outcomes') {
					delete node.parameters.sinceHours;
					Object.assign(node.parameters, { operation: 'report', sinceDays: 1, bucket: 'day' });
				}
			},
		}),
	async run(ctx) {
		const { n8n, services, workflows } = ctx;
		for (const store of STORES) {
			const { intake, report } = workflows[store];
			const path = webhookPath(intake);
			const namespace = guardNamespace(intake);
			const leads = { seq: lead(store, 'seq'), a: lead(store, 'burst-a'), b: lead(store, 'burst-b'), refused: lead(store, 'refused') };
			const ours = (l) => Object.values(leads).some((x) => crmKey(x) === crmKey(l));

			await ctx.test(`${store}: the Report's figures equal what was sent and what the CRM counted`, async () => {
				const crmPostsBefore = services.crm.state.requests.length;
				const answers = [];
				for (let i = 0; i < SEQUENTIAL; i++) answers.push(await n8n.webhook(path, leads.seq));
				answers.push(...(await Promise.all([...Array(CONCURRENT)].flatMap(() => [n8n.webhook(path, leads.a), n8n.webhook(path, leads.b)]))));
				services.crm.failNext(1, 500);
				answers.push(await n8n.webhook(path, leads.refused));
				answers.push(await n8n.webhook(path, leads.refused));

				const byStatus = {};
				for (const r of answers) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
				// 3 leads created, 1 refused then created on redelivery; everything else a duplicate
				assert.deepEqual(byStatus, { 201: 4, 200: SEQUENTIAL - 1 + 2 * (CONCURRENT - 1), 502: 1 }, `answers by status: ${JSON.stringify(byStatus)}`);

				const crmPosts = services.crm.state.requests.slice(crmPostsBefore).filter((r) => r.method === 'POST' && r.path === '/contacts' && ours(r.body));
				const crmWrites = Object.values(leads).reduce((n, l) => n + services.crm.writeCount(crmKey(l)), 0);
				assert.equal(crmWrites, 4, 'contacts written by the CRM');
				assert.equal(crmPosts.length, 5, 'POSTs that reached the CRM (one refused)');
				const duplicatesAnswered = answers.filter((r) => r.status === 200 && r.json?.status === 'duplicate').length;

				const res = await n8n.webhook(webhookPath(report, 'Ask about a namespace'), { namespace });
				assert.equal(res.status, 200, res.text);
				const item = res.json.stats;
				assert.equal(item.namespace, namespace);
				const t = item.total;
				const bucketSum = (field) => item.buckets.reduce((n, b) => n + b[field], 0);
				const expected = {
					deliveries: answers.length,
					new: crmPosts.length,
					duplicates: duplicatesAnswered,
					ambiguous: 0,
					processed: crmWrites,
					failed: 1,
					retriesSucceeded: 1,
					exceptionsOpened: 0,
				};
				assert.deepEqual(
					Object.fromEntries(Object.keys(expected).map((k) => [k, t[k]])),
					expected,
					`Report total ${JSON.stringify(t)}`,
				);
				for (const k of Object.keys(expected)) assert.equal(bucketSum(k), t[k], `the day buckets add up to the total's ${k}`);
				assert.equal(item.openExceptions, 0);
				assert.match(item.slack.text, new RegExp(`${answers.length} deliveries, ${duplicatesAnswered} duplicates stopped`), item.slack.text);
			});
		}
	},
};
