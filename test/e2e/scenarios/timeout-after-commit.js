// The CRM commits the contact, then answers after n8n's HTTP Request node has given up: the
// write's outcome is unknown. examples/lead-intake.json sends such errors (no answer from the
// CRM) to the Exception Router as write_timeout — owner and Slack — instead of Mark failed,
// which would let the Guard retry, i.e. write a second time to an endpoint that is not
// necessarily idempotent. The sender's retry must then not write again: the key stays open as
// an exception for its owner, never written twice. On Postgres and on Redis.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');

const HTTP_TIMEOUT_MS = 1000; // the CRM call's timeout in this variant
const CRM_ANSWERS_AFTER_MS = 3000; // the fake CRM commits at once, then answers this late
const WAIT_SECONDS = 2; // the Guard's onInProgress = wait, shortened so the retry decides sooner

const lead = (store) => ({
	email: `grace.hopper+${store}@example.com`,
	name: 'Grace Hopper',
	source: 'website-form',
	submissionId: `sub-${store}-timeout`,
});

const tweak = (node) => {
	if (node.name === 'Upsert contact in CRM') node.parameters.options.timeout = HTTP_TIMEOUT_MS;
	if (node.name === 'Idempotency Guard') node.parameters.options.waitSeconds = WAIT_SECONDS;
};

const variants = ({ services, stores = STORES }) =>
	Object.fromEntries(
		stores.map((store) => [store, prepareWorkflow('lead-intake', { services, store, pathSuffix: `${store}-timeout`, namespaceSuffix: 'timeout', tweak })]),
	);

// The tests, on the n8n `n8n` with the variants `workflows` ({ store: wf }) and a key-inspector
// client; scenarios/n8n-1.js runs them on n8n 1.123 too.
async function timeoutTests(ctx, { n8n, workflows, inspector, stores = STORES }) {
	const { services } = ctx;
	for (const store of stores) {
		const wf = workflows[store];
		const path = webhookPath(wf);
		const namespace = guardNamespace(wf);
		const body = lead(store);
		const crmKey = body.email;
		const key = leadKey(body);

		await ctx.test(`${store}: the CRM commits, then answers after the timeout → write_timeout to the owner in Slack, not Mark failed`, async () => {
			const slackBefore = services.slack.messages.length;
			services.crm.delayAfterCommit(CRM_ANSWERS_AFTER_MS);
			const res = await n8n.webhook(path, body);
			assert.equal(res.status, 202, res.text);
			assert.deepEqual(res.json, { status: 'needs_review', reason: 'write_timeout', owner: '@revops-oncall' });
			assert.equal(services.crm.writeCount(crmKey), 1, 'CRM writes: the CRM did commit');
			const sent = services.slack.messages.slice(slackBefore);
			assert.equal(sent.length, 1, 'Slack messages');
			assert.equal(sent[0].parsed.reason, 'write_timeout');
			assert.equal(sent[0].parsed.owner, '@revops-oncall');
			assert.ok(sent[0].parsed.exceptionId, 'the message names the stored exception');
		});

		await ctx.test(`${store}: the sender retries (in sequence and 10 at once) → no second CRM write`, async () => {
			// let the late answer arrive first: the CRM is idle again, nothing is in flight
			await new Promise((r) => setTimeout(r, CRM_ANSWERS_AFTER_MS - HTTP_TIMEOUT_MS + 200));
			const slackBefore = services.slack.messages.length;
			const retry = await n8n.webhook(path, body);
			const burst = await Promise.all(Array.from({ length: 10 }, () => n8n.webhook(path, body)));
			for (const r of [retry, ...burst]) {
				// the claim is still open (nobody marked it): the Guard says in_progress (the history
				// below shows it) and hands it to a person; the sender hears the incident's reason, the
				// write that timed out — one incident per key, one answer
				assert.equal(r.status, 202, r.text);
				assert.equal(r.json.status, 'needs_review', r.text);
				assert.equal(r.json.reason, 'write_timeout', r.text);
			}
			assert.equal(services.crm.writeCount(crmKey), 1, 'CRM writes');
			assert.equal(services.crm.state.requests.filter((q) => q.method === 'POST' && q.body.email === crmKey).length, 1, 'POSTs the CRM received for this lead');
			// one incident per key (the example groups by key): the retries add to it, Slack hears nothing more
			assert.deepEqual(services.slack.messages.slice(slackBefore).map((m) => m.parsed.reason), [], 'Slack messages for the retries');
		});

		await ctx.test(`${store}: the key ends as one open incident for its owner; its history shows no second claim`, async () => {
			const { openExceptions } = await inspector.report(store, namespace);
			const forKey = openExceptions.filter((e) => e.key === key);
			assert.equal(forKey.length, 1, JSON.stringify(forKey));
			const [incident] = forKey;
			assert.equal(incident.reason, 'write_timeout', 'the reason that opened it');
			assert.deepEqual(incident.reasons, ['write_timeout', 'in_progress'], 'every reason, in the order they came');
			assert.equal(incident.owner, '@revops-oncall');
			assert.equal(incident.severity, 'critical');
			assert.equal(incident.occurrences, 12, 'the timeout and the 11 retries are counted on one incident');

			const record = await inspector.key(store, namespace, key);
			assert.equal(record.state, 'processing', 'nobody marked it: neither processed nor failed');
			assert.equal(record.attempt, 1);
			const history = historyOf(record);
			assert.equal(history.filter((e) => e === 'claimed').length, 1, `one claim only: ${history}`);
			assert.ok(!history.includes('failed'), `never marked failed: ${history}`);
			assert.deepEqual(history, ['claimed', ...Array(11).fill('ambiguous_seen(in_progress)')]);
		});
	}
}

module.exports = {
	name: 'timeout-after-commit',
	order: 30,
	workflows: variants,
	run: (ctx) => timeoutTests(ctx, { n8n: ctx.n8n, workflows: ctx.workflows, inspector: ctx.inspector }),
	timeoutTests,
};
