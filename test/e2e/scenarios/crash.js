// A crash between the write and Mark processed: the CRM has committed the contact while n8n
// waits for its answer, and n8n is killed with SIGKILL (no graceful shutdown, nothing settles
// the claim). After a restart, the sender redelivers once the claim's lease has run out: the
// Guard cannot know whether the earlier run wrote, so it reports ambiguous lease_expired, the
// Router opens an exception for the owner — and the CRM still has exactly one write. On Postgres
// and on Redis, in one n8n (this scenario kills the shared n8n, so it runs last on it).
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');

const LEASE_SECONDS = 5; // shortened so the redelivery can come after the lease
const CRM_HOLDS_ANSWER_MS = 120_000; // the CRM commits, then holds its answer: n8n waits in the write

const lead = (store) => ({
	email: `katherine.johnson+${store}@example.com`,
	name: 'Katherine Johnson',
	source: 'website-form',
	submissionId: `sub-${store}-crash`,
});

const tweak = (node) => {
	if (node.name === 'Idempotency Guard') node.parameters.options.leaseSeconds = LEASE_SECONDS;
	if (node.name === 'Upsert contact in CRM') node.parameters.options.timeout = CRM_HOLDS_ANSWER_MS + 60_000;
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers each of `variants` ({ path, body, crmKey }), lets the fake CRM commit every write and
 * hold its answers for `holdMs`, kills n8n with SIGKILL while the executions wait, checks that
 * every delivery died with it, and restarts n8n.
 */
async function killWhileCrmHoldsAnswers({ services, n8n }, variants, holdMs) {
	services.crm.delayAfterCommit(holdMs, variants.length);
	const inFlight = variants.map((v) => n8n.webhook(v.path, v.body, { timeoutMs: holdMs }).then(
		(res) => ({ answered: res.status }),
		(err) => ({ lost: err.cause?.code || err.message }),
	));
	await services.crm.waitFor(() => variants.every((v) => services.crm.writeCount(v.crmKey) === 1), 30_000);
	await n8n.crash();
	const outcomes = await Promise.all(inFlight);
	for (const o of outcomes) assert.ok(o.lost, `the delivery must die with n8n, got ${JSON.stringify(o)}`);
	await n8n.restart();
}

module.exports = {
	name: 'crash',
	order: 90,
	workflows: ({ services }) =>
		Object.fromEntries(
			STORES.map((store) => [store, prepareWorkflow('lead-intake', { services, store, pathSuffix: `${store}-crash`, namespaceSuffix: 'crash', tweak })]),
		),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;
		const variants = STORES.map((store) => {
			const wf = ctx.workflows[store];
			const body = lead(store);
			return { store, path: webhookPath(wf), namespace: guardNamespace(wf), body, crmKey: body.email, key: leadKey(body) };
		});

		let claimedAt = 0;
		await ctx.test('kill -9 n8n while both executions wait on the CRM after it committed; n8n restarts', async () => {
			claimedAt = Date.now();
			await killWhileCrmHoldsAnswers(ctx, variants, CRM_HOLDS_ANSWER_MS);
		});

		for (const v of variants) {
			await ctx.test(`${v.store}: redelivered after the lease → ambiguous lease_expired to the owner in Slack; still one CRM write`, async () => {
				const wait = claimedAt + LEASE_SECONDS * 1000 + 500 - Date.now();
				if (wait > 0) await sleep(wait);
				const slackBefore = services.slack.messages.length;
				const res = await n8n.webhook(v.path, v.body);
				assert.equal(res.status, 202, res.text);
				assert.deepEqual(res.json, { status: 'needs_review', reason: 'lease_expired', owner: '@revops-oncall' });
				const sent = services.slack.messages.slice(slackBefore);
				assert.equal(sent.length, 1, 'Slack messages');
				assert.equal(sent[0].parsed.reason, 'lease_expired');
				assert.equal(sent[0].parsed.owner, '@revops-oncall');

				// and once more: the same open exception counts it, no write
				const again = await n8n.webhook(v.path, v.body);
				assert.equal(again.status, 202, again.text);
				assert.equal(services.crm.writeCount(v.crmKey), 1, 'CRM writes');
				assert.equal(services.crm.state.requests.filter((q) => q.method === 'POST' && q.body.email === v.crmKey).length, 1, 'POSTs the CRM received for this lead');
			});

			await ctx.test(`${v.store}: one open lease_expired exception; the history shows the claim the crash left behind`, async () => {
				const { stats, openExceptions } = await inspector.report(v.store, v.namespace);
				const forKey = openExceptions.filter((e) => e.key === v.key);
				assert.equal(forKey.length, 1, JSON.stringify(openExceptions));
				assert.equal(forKey[0].reason, 'lease_expired');
				assert.equal(forKey[0].owner, '@revops-oncall');
				assert.equal(forKey[0].occurrences, 2);
				assert.equal(stats.openExceptions, 1, JSON.stringify(stats));

				const record = await inspector.key(v.store, v.namespace, v.key);
				assert.equal(record.state, 'processing');
				assert.deepEqual(historyOf(record), ['claimed', 'ambiguous_seen(lease_expired)', 'ambiguous_seen(lease_expired)']);
			});
		}

		await ctx.test('n8n recorded the killed executions as crashed, not as succeeded', async () => {
			const filter = encodeURIComponent(JSON.stringify({ status: ['crashed'] }));
			const list = await n8n.rest(`/rest/executions?filter=${filter}&limit=20`);
			const crashed = (list.json?.data?.results || []).filter((e) => variants.some((v) => e.workflowId === ctx.workflows[v.store].id));
			assert.equal(crashed.length, variants.length, JSON.stringify(list.json?.data?.results?.map((e) => ({ id: e.id, wf: e.workflowId, status: e.status }))));
		});
	},
	killWhileCrmHoldsAnswers,
};
