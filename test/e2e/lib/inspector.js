// "What happened to key X?" from the outside: the key-inspector example (examples/key-inspector.json)
// imported once per store, and a client that asks it through its webhooks. Scenarios read the
// State Ledger's record and history of a key, and a namespace's stats and open exceptions, the
// way an ops person would, through n8n and our nodes, not by reading the store directly.
// Also the Guard's key rule written out independently (docs/CONTRACT.md §5), so a test can name the key
// the Guard must have stored.
'use strict';

const crypto = require('crypto');
const { prepareWorkflow, webhookPath } = require('./workflows');

const STORES = ['postgres', 'redis'];

function inspectorWorkflows(stores = STORES, pathSuffix = '') {
	return Object.fromEntries(
		stores.map((store) => [store, prepareWorkflow('key-inspector', { store, pathSuffix: `${store}${pathSuffix}` })]),
	);
}

/** A client for the inspector workflows `byStore` (from inspectorWorkflows) on the n8n `n8n`. */
function inspectorClient(n8n, byStore) {
	const ask = async (store, hookName, body) => {
		const wf = byStore[store];
		if (!wf) throw new Error(`no key-inspector workflow for store ${store}`);
		const res = await n8n.webhook(webhookPath(wf, hookName), body);
		if (res.status !== 200 || !res.json) throw new Error(`key inspector (${store}, ${hookName}): ${res.status} ${res.text.slice(0, 500)}`);
		return res.json;
	};
	return {
		/** The State Ledger's `get`: { state, attempt, result, history: [{ at, event, reason, … }], … } */
		key: (store, namespace, key) => ask(store, 'Ask about a key', { namespace, key }),
		/** { stats: the Ledger's `stats`, openExceptions: the Router's `listOpen` } */
		report: (store, namespace) => ask(store, 'Ask about a namespace', { namespace }),
	};
}

/**
 * A key's history as "event" or "event(reason)" strings, oldest first, for readable asserts. A
 * run of duplicates is one event with a `count` (docs/CONTRACT.md §12): it is spelled out here as
 * that many `duplicate_seen`, so the asserts count deliveries whichever way the store keeps them.
 */
function historyOf(record) {
	return (record.history || []).flatMap((h) => {
		const label = h.event === 'ambiguous_seen' && h.reason ? `${h.event}(${h.reason})` : h.event;
		return Array(Number.isInteger(h.count) && h.count > 0 ? h.count : 1).fill(label);
	});
}

// The Guard's documented key rule (docs/CONTRACT.md §5 / README): each field normalised (NFKC, collapse
// whitespace, trim, then lowercase when asked), "|" and "\" escaped, joined with "|", stored as
// sha256:<hex> when Hash Keys is on or the key is longer than 256 characters.
function guardKey(parts, { lowercase = false, hash = false } = {}) {
	const key = parts
		.map((p) => {
			let t = String(p).normalize('NFKC').replace(/\s+/g, ' ').trim();
			if (lowercase) t = t.toLowerCase();
			return t.replace(/[\\|]/g, (c) => `\\${c}`);
		})
		.join('|');
	return hash || key.length > 256 ? `sha256:${crypto.createHash('sha256').update(key, 'utf8').digest('hex')}` : key;
}

/** The key examples/lead-intake.json stores for a form submission. */
const leadKey = (lead) => guardKey([lead.email, lead.source, lead.submissionId], { lowercase: true, hash: true });
/** The key examples/invoice-posting.json stores for an invoice. */
const invoiceKey = (inv) => guardKey([inv.supplierId, inv.invoiceNumber, inv.period]);

module.exports = { inspectorWorkflows, inspectorClient, historyOf, guardKey, leadKey, invoiceKey, STORES };
