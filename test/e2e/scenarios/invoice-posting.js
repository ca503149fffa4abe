// Invoice posting (examples/invoice-posting.json) in a real n8n, on Postgres and on Redis:
// the key is supplier + invoice number + period and the fingerprint amount + currency, so a
// redelivery is answered with the stored invoice id, while the same invoice with a changed
// amount is quarantined to its owner (payload_mismatch) and never posted twice.
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, webhookPath, makeStoreCredentials } = require('../lib/workflows');

const STORES = ['postgres', 'redis'];

const invoice = (store) => ({ supplierId: `SUP-${store}-17`, invoiceNumber: 'INV-2026-0042', period: '2026-10', amount: '1250.00', currency: 'EUR' });
const ledgerKey = (inv) => [inv.supplierId, inv.invoiceNumber, inv.period].join('|');

module.exports = {
	name: 'invoice-posting',
	async run(ctx) {
		const { services } = ctx;
		const stores = makeStoreCredentials();
		ctx.onCleanup(stores.cleanup);
		const variants = STORES.map((store) => ({ store, wf: prepareWorkflow('invoice-posting', { services, store, pathSuffix: store }) }));
		const n8n = await ctx.startN8n({ packed: ctx.packed, credentials: stores.credentials, workflows: variants.map((v) => v.wf) });

		for (const { store, wf } of variants) {
			const path = webhookPath(wf);
			const inv = invoice(store);

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
				assert.ok(sent[0].parsed.exceptionId, 'the message names the stored exception');

				// the sender retries the changed invoice: still quarantined, on the same open exception
				const retry = await n8n.webhook(path, changed);
				assert.equal(retry.status, 202, retry.text);
				const repeat = services.slack.messages[services.slack.messages.length - 1].parsed;
				assert.equal(repeat.exceptionId, sent[0].parsed.exceptionId, 'one open exception, not two');
				assert.equal(repeat.occurrences, 2);
				assert.equal(services.ledger.writeCount(ledgerKey(inv)), 1, 'ledger writes');
			});
		}
	},
};
