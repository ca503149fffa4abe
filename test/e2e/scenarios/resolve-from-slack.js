// Resolve from Slack (examples/resolve-from-slack.json) in a real n8n, on Postgres and on Redis:
// lead intake (examples/lead-intake.json, its Routers with Slack Buttons on) sends a write whose
// outcome is unknown to Slack with Mark processed / Replay / Discard buttons; the fake Slack then
// posts a click, signed with the app's signing secret, to the interactivity Webhook, as Slack
// does. The exception is resolved once, as the clicking user, and the message update reaches the
// fake response_url; the same request again changes nothing and says who resolved it; a forged
// click (another secret) changes nothing and gets no answer.
'use strict';

const assert = require('assert/strict');
const crypto = require('crypto');
const { variantsPerStore, webhookPath, guardNamespace, SLACK_APP } = require('../lib/workflows');
const { historyOf, leadKey, STORES } = require('../lib/inspector');

const USER = { id: 'U2CERLKJA', username: 'roadrunner', name: 'roadrunner', team_id: 'T1DC2JH3J' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const lead = (store, n) => ({ email: `ada+${store}-${n}@example.com`, name: 'Ada Lovelace', source: 'website-form', submissionId: `sub-${store}-slack-${n}` });

/** A block_actions request as Slack sends it for a click on `button`, signed with `secret`. */
function signedClick(button, responseUrl, secret = SLACK_APP.signingSecret) {
	const payload = {
		type: 'block_actions',
		user: USER,
		api_app_id: 'A0KRD7HC3',
		container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0FINANCE' },
		response_url: responseUrl,
		actions: [{ type: 'button', action_id: button.action_id, block_id: 'b1', value: button.value, text: button.text, action_ts: `${Date.now() / 1000}` }],
	};
	const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
	const timestamp = String(Math.floor(Date.now() / 1000));
	const signature = `v0=${crypto.createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
	return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature } };
}

async function post(n8n, path, { body, headers }) {
	const t0 = Date.now();
	const res = await fetch(`${n8n.baseUrl}/webhook/${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(30_000) });
	return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
}

const buttonsOf = (message) =>
	(message.blocks || []).filter((b) => b.type === 'actions').flatMap((b) => b.elements || []).filter((e) => String(e.action_id).startsWith('idempotency.resolve.'));

module.exports = {
	name: 'resolve-from-slack',
	order: 35,
	workflows: ({ services }) =>
		variantsPerStore({
			services,
			examples: { intake: 'lead-intake', clicks: 'resolve-from-slack' },
			suffix: 'slack',
			tweak: (node) => {
				if (node.type === 'n8n-nodes-idempotency.exceptionRouter' && node.parameters.operation === 'route') {
					node.parameters.options = { ...node.parameters.options, slackButtons: true };
				}
				// The example posts only to hooks.slack.com; the fake Slack's response_url is local.
				if (node.name === 'Update the Slack message') node.parameters.url = '={{ $json.slack.response_url }}';
			},
		}),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;
		for (const store of STORES) {
			const { intake, clicks } = ctx.workflows[store];
			const namespace = guardNamespace(intake);
			const clickPath = webhookPath(clicks);
			const responses = (path) => services.slack.messages.filter((m) => m.path === path);

			/** A lead whose CRM write ends in a 504 (outcome unknown): its Slack message with buttons. */
			const unknownWrite = async (n) => {
				const before = services.slack.messages.length;
				services.crm.failNext(1, 504);
				const res = await n8n.webhook(webhookPath(intake), lead(store, n));
				assert.equal(res.status, 202, res.text);
				assert.equal(res.json.reason, 'write_timeout', res.text);
				const sent = services.slack.messages.slice(before);
				assert.equal(sent.length, 1, 'Slack messages');
				return sent[0];
			};

			await ctx.test(`${store}: a signed click on Mark processed resolves the exception once, as the clicking user; the update reaches response_url`, async () => {
				const message = await unknownWrite(1);
				const buttons = buttonsOf(message);
				assert.deepEqual(buttons.map((b) => b.action_id), ['idempotency.resolve.markProcessed', 'idempotency.resolve.replay', 'idempotency.resolve.discard']);
				assert.equal(buttons[0].value, `markProcessed:${message.parsed.exceptionId}`);

				const responseUrl = `${services.slack.url}/response-${store}-1`;
				const click = signedClick(buttons[0], responseUrl);
				const res = await post(n8n, clickPath, click);
				assert.equal(res.status, 200, res.text);
				ctx.log(`      the Webhook answered Slack in ${res.ms} ms`);
				await services.slack.waitFor(() => responses(`/response-${store}-1`).length === 1, 20_000);
				const update = responses(`/response-${store}-1`)[0];
				assert.equal(update.replace_original, true);
				assert.match(update.text, /Resolved: marked processed \(the write did happen\), by <@U2CERLKJA> from Slack at /);
				assert.ok(!JSON.stringify(update.blocks).includes('"actions"'), 'the buttons are gone');

				const key = leadKey(lead(store, 1));
				const record = await inspector.key(store, namespace, key);
				assert.equal(record.state, 'processed');
				const forced = record.history.filter((h) => h.event === 'forced');
				assert.equal(forced.length, 1, historyOf(record).join(', '));
				assert.equal(forced[0].detail.resolvedBy, 'roadrunner (U2CERLKJA)');
				assert.equal(forced[0].detail.resolvedVia, 'slack');
				assert.equal(forced[0].detail.resolution, 'markProcessed');
				const { openExceptions } = await inspector.report(store, namespace);
				assert.ok(!openExceptions.some((e) => e.key === key), 'the exception is closed');

				// The same signed request again (a replay within five minutes): nothing twice, the message says who.
				assert.equal((await post(n8n, clickPath, click)).status, 200);
				await services.slack.waitFor(() => responses(`/response-${store}-1`).length === 2, 20_000);
				assert.match(responses(`/response-${store}-1`)[1].text, /Already resolved: marked processed .* by <@U2CERLKJA> from Slack/);
				const after = await inspector.key(store, namespace, key);
				assert.equal(after.history.filter((h) => h.event === 'forced').length, 1, 'resolved once');
			});

			await ctx.test(`${store}: a forged click (signed with another secret) changes nothing and gets no answer`, async () => {
				const message = await unknownWrite(2);
				const discard = buttonsOf(message).find((b) => b.action_id === 'idempotency.resolve.discard');
				const responseUrl = `${services.slack.url}/response-${store}-forged`;
				const res = await post(n8n, clickPath, signedClick(discard, responseUrl, crypto.randomBytes(16).toString('hex')));
				assert.equal(res.status, 200, res.text); // answered at once, before the check: Slack needs no more
				await sleep(3000);
				assert.equal(responses(`/response-${store}-forged`).length, 0, 'nothing was sent to the forged response_url');
				const key = leadKey(lead(store, 2));
				const { openExceptions } = await inspector.report(store, namespace);
				assert.ok(openExceptions.some((e) => e.key === key && e.id === message.parsed.exceptionId), 'the exception is still open');
				const record = await inspector.key(store, namespace, key);
				assert.ok(!record.history.some((h) => h.event === 'forced'), historyOf(record).join(', '));
			});
		}
	},
};
