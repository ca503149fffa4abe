// Invoice posting (examples/invoice-posting.json) in a real n8n, on Postgres and on Redis:
// the key is supplier + invoice number + period and the fingerprint amount + currency, so a
// redelivery is answered with the stored invoice id, while the same invoice with a changed
// amount is quarantined to its owner (payload_mismatch) and never posted twice: one Slack
// message (a repeat posts none), one open exception (the Router's listOpen, the Ledger's stats), and the key's
// history in the State Ledger.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, guardNamespace } = require('../lib/workflows');
const { historyOf, invoiceKey, STORES } = require('../lib/inspector');

const invoice = (store) => ({ supplierId: `SUP-${store}-17`, invoiceNumber: 'INV-2026-0042', period: '2026-10', amount: '1250.00', currency: 'EUR' });
const ledgerKey = (inv) => [inv.supplierId, inv.invoiceNumber, inv.period].join('|');

module.exports = {
	name: 'invoice-posting',
	order: 20,
	workflows: ({ services }) => Object.fromEntries(STORES.map((store) => [store, prepareWorkflow('invoice-posting', { services, store, pathSuffix: store })])),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;

		for (const store of STORES) {
			const wf = ctx.workflows[store];
			const path = webhookPath(wf);
			const namespace = guardNamespace(wf);
			const inv = invoice(store);
			const key = invoiceKey(inv);
			let exceptionId = null;

			await ctx.test(`${store}: an invoice is posted once; its redelivery gets the stored invoice id`, async () => {
				const first = await n8n.webhook(path, inv);
				assert.equal(first.status, 201, first.text);
				const again = await n8n.webhook(path, inv);
				assert.equal(again.status, 200, again.text);
				assert.deepEqual(again.json, { status: 'duplicate', invoiceId: first.json.invoiceId });
				assert.equal(services.ledger.writeCount(ledgerKey(inv)), 1, 'ledger writes');
			});

			await ctx.test(`${store}: the same invoice with another amount → one Slack message (payload_mismatch, owner), one open exception`, async () => {
				const before = services.slack.messages.length;
				const changed = { ...inv, amount: '1520.00' };
				const res = await n8n.webhook(path, changed);
				assert.equal(res.status, 202, res.text);
				assert.deepEqual(res.json, { status: 'quarantined', reason: 'payload_mismatch' });
				const sent = services.slack.messages.slice(before);
				assert.equal(sent.length, 1, 'Slack messages');
				assert.equal(sent[0].parsed.reason, 'payload_mismatch');
				assert.equal(sent[0].parsed.owner, '@finance-controller');
				exceptionId = sent[0].parsed.exceptionId;
				assert.ok(exceptionId, 'the message names the stored exception');

				// the sender retries the changed invoice: still quarantined, counted on the same open
				// exception (the next test), and no second message: one Slack message per exception
				const retry = await n8n.webhook(path, changed);
				assert.equal(retry.status, 202, retry.text);
				assert.deepEqual(retry.json, { status: 'quarantined', reason: 'payload_mismatch' });
				assert.equal(services.slack.messages.length, before + 1, 'Slack messages: the repeat posts none');
				assert.equal(services.ledger.writeCount(ledgerKey(inv)), 1, 'ledger writes');
			});

			await ctx.test(`${store}: the Router lists exactly one open exception for the invoice, the Ledger's stats count it`, async () => {
				const { stats, openExceptions } = await inspector.report(store, namespace);
				const forKey = openExceptions.filter((e) => e.key === key);
				assert.equal(forKey.length, 1, `open exceptions for ${key}: ${JSON.stringify(openExceptions)}`);
				assert.equal(forKey[0].id, exceptionId);
				assert.equal(forKey[0].reason, 'payload_mismatch');
				assert.equal(forKey[0].owner, '@finance-controller');
				assert.equal(forKey[0].occurrences, 2);
				assert.equal(forKey[0].status, 'open');
				assert.equal(stats.openExceptions, 1, `stats: ${JSON.stringify(stats)}`);
				assert.equal(stats.ambiguousByReason?.payload_mismatch, 2, `stats: ${JSON.stringify(stats)}`);
			});

			await ctx.test(`${store}: the State Ledger's history of the invoice key, in order`, async () => {
				const record = await inspector.key(store, namespace, key);
				assert.equal(record.state, 'processed', 'the posted invoice stays processed');
				assert.deepEqual(historyOf(record), ['claimed', 'processed', 'duplicate_seen', 'ambiguous_seen(payload_mismatch)', 'ambiguous_seen(payload_mismatch)']);
			});
		}
	},
};
