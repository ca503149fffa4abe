// Stand-ins for the systems the example workflows write to: a CRM, a finance ledger, a billing
// API and a Slack incoming webhook. Plain HTTP servers on 127.0.0.1 (random ports) that count every
// business write, so a scenario can assert "exactly one CRM write" from the far side.
'use strict';

const http = require('http');

function readBody(req) {
	return new Promise((resolve, reject) => {
		let data = '';
		req.setEncoding('utf8');
		req.on('data', (c) => (data += c));
		req.on('end', () => {
			if (!data) return resolve({});
			try {
				resolve(JSON.parse(data));
			} catch {
				resolve({ _raw: data });
			}
		});
		req.on('error', reject);
	});
}

function send(res, status, body) {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
	res.end(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A server whose behaviour can be steered between requests. `plan` holds one-shot or standing
// instructions: delay the answer after committing (the "timeout after commit" case) or fail
// before committing.
function createService(name, handler) {
	const state = { requests: [], plan: { delayMs: 0, delayNext: 0, failNext: 0, failStatus: 500 } };
	const server = http.createServer(async (req, res) => {
		try {
			const body = req.method === 'GET' ? {} : await readBody(req);
			const url = new URL(req.url, 'http://x');
			state.requests.push({ method: req.method, path: url.pathname, body, headers: req.headers, at: Date.now() });
			if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
			if (state.plan.failNext > 0) {
				state.plan.failNext--;
				return send(res, state.plan.failStatus, { error: `${name} unavailable (planned failure)` });
			}
			const result = handler(req.method, url, body);
			if (!result) return send(res, 404, { error: `${name}: no route ${req.method} ${url.pathname}` });
			// The write is committed (handler ran) before any delay: a client that times out now
			// cannot know that it succeeded.
			let delay = state.plan.delayMs;
			if (state.plan.delayNext > 0) {
				state.plan.delayNext--;
				delay = Math.max(delay, state.plan.delayNextMs);
			}
			if (delay) await sleep(delay);
			if (!res.destroyed) send(res, result.status || 200, result.body);
		} catch (err) {
			send(res, 500, { error: String(err && err.message) });
		}
	});
	server.keepAliveTimeout = 1000;
	return {
		name,
		state,
		server,
		url: null,
		async start() {
			await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
			this.url = `http://127.0.0.1:${server.address().port}`;
			return this;
		},
		close() {
			server.closeAllConnections?.();
			return new Promise((resolve) => server.close(() => resolve()));
		},
		// Commit the next `count` writes, then hold each answer for `ms` (longer than the client timeout).
		delayAfterCommit(ms, count = 1) {
			state.plan.delayNext = count;
			state.plan.delayNextMs = ms;
		},
		// Answer the next `count` requests with an error without committing anything.
		failNext(count = 1, status = 500) {
			state.plan.failNext = count;
			state.plan.failStatus = status;
		},
		setDelay(ms) {
			state.plan.delayMs = ms;
		},
		// Resolves once `predicate()` holds, e.g. "the CRM has committed the write" before a crash.
		async waitFor(predicate, timeoutMs = 30_000) {
			const deadline = Date.now() + timeoutMs;
			while (!predicate()) {
				if (Date.now() > deadline) throw new Error(`${name}: condition not met within ${timeoutMs} ms`);
				await sleep(50);
			}
		},
	};
}

function normaliseEmail(v) {
	return String(v ?? '').trim().toLowerCase();
}

// CRM: POST /contacts upserts by email (or `key` when given) and answers { id, created }.
// Every POST counts as a write, an upsert of an existing contact too: a duplicate delivery
// that reaches the CRM is exactly what the Guard must prevent.
function createCrm() {
	const contacts = new Map(); // key -> { id, data, writes }
	let seq = 0;
	const svc = createService('crm', (method, url, body) => {
		if (method === 'POST' && url.pathname === '/contacts') {
			const key = body.key != null ? String(body.key) : normaliseEmail(body.email);
			let c = contacts.get(key);
			const created = !c;
			if (!c) {
				c = { id: `crm_${++seq}`, writes: 0, createdAt: Date.now() };
				contacts.set(key, c);
			}
			c.writes++;
			c.data = body;
			return { status: created ? 201 : 200, body: { id: c.id, created } };
		}
		if (method === 'GET' && url.pathname === '/contacts') {
			return { body: [...contacts.entries()].map(([key, c]) => ({ key, ...c })) };
		}
		// A CRM search by a field of the contact (e.g. the idempotency key the write sent), as
		// Reconcile looks a write up. A contact is found only `searchLagMs` after its first write:
		// a search index that lags behind the writes.
		if (method === 'GET' && url.pathname === '/contacts/search') {
			const [[field, value] = []] = [...url.searchParams.entries()];
			const now = Date.now();
			const results = [...contacts.values()]
				.filter((c) => field && c.data && String(c.data[field]) === value && now - c.createdAt >= svc.searchLagMs)
				.map((c) => ({ id: c.id, ...c.data }));
			svc.searches.push({ field, value, at: now, found: results.length });
			return { body: { total: results.length, results } };
		}
		return null;
	});
	svc.searchLagMs = 0;
	svc.searches = [];
	svc.contacts = contacts;
	svc.writeCount = (key) => (key === undefined ? sum(contacts) : contacts.get(key)?.writes || 0);
	svc.contactId = (key) => contacts.get(key)?.id;
	svc.reset = () => {
		contacts.clear();
		svc.state.requests.length = 0;
		svc.searches.length = 0;
		svc.searchLagMs = 0;
	};
	return svc;
}

// Ledger: POST /invoices keyed by supplierId + invoiceNumber + period; answers { id }.
function createLedger() {
	const invoices = new Map();
	let seq = 0;
	const svc = createService('ledger', (method, url, body) => {
		if (method === 'POST' && url.pathname === '/invoices') {
			const key = [body.supplierId, body.invoiceNumber, body.period].join('|');
			let inv = invoices.get(key);
			if (!inv) {
				inv = { id: `inv_${++seq}`, writes: 0 };
				invoices.set(key, inv);
			}
			inv.writes++;
			inv.data = body;
			return { status: 201, body: { id: inv.id } };
		}
		return null;
	});
	svc.invoices = invoices;
	svc.writeCount = (key) => (key === undefined ? sum(invoices) : invoices.get(key)?.writes || 0);
	svc.reset = () => {
		invoices.clear();
		svc.state.requests.length = 0;
	};
	return svc;
}

// Billing: POST /invoices creates a new invoice on every call, like most invoice APIs (no
// idempotency of its own), and answers { id, number, customerId, orderId, total, currency }.
// Writes are counted per customerId + orderId: an agent's retried tool call that reaches it
// shows up as a second invoice.
function createBilling() {
	const invoices = [];
	const svc = createService('billing', (method, url, body) => {
		if (method === 'POST' && url.pathname === '/invoices') {
			const seq = invoices.length + 1;
			const invoice = {
				id: `in_${seq}`,
				number: `INV-${String(seq).padStart(5, '0')}`,
				customerId: body.customerId,
				orderId: body.orderId,
				total: body.amount,
				currency: body.currency,
			};
			invoices.push(invoice);
			return { status: 201, body: invoice };
		}
		return null;
	});
	svc.invoices = invoices;
	svc.writeCount = (customerId, orderId) =>
		customerId === undefined ? invoices.length : invoices.filter((i) => i.customerId === customerId && i.orderId === orderId).length;
	svc.reset = () => {
		invoices.length = 0;
		svc.state.requests.length = 0;
		svc.setDelay(0);
	};
	return svc;
}

// What a test needs from an Exception Router message (nodes/shared/engine/slack.ts): the
// text reads "<mark> <label> (<reason>) for key <key> in <namespace> — owner <owner>. <next>",
// the last context block "Exception <id> · route <route>".
function parseExceptionMessage(msg) {
	const text = String(msg.text || '');
	const blocksText = JSON.stringify(msg.blocks || []);
	return {
		reason: (text.match(/\(([a-z_]+)\) for key /) || [])[1] || null,
		owner: (text.match(/ — owner (.+?)\. /) || [])[1] || null,
		// ids are opaque (a uuid on Postgres, uuid.namespace on Redis); "(not stored)" when persist is off
		exceptionId: ((blocksText.match(/Exception (.+?) · route /) || [])[1] || '').replace(/^\(not stored\)$/, '') || null,
		occurrences: Number((blocksText.match(/\*Occurrences\*\\n(\d+)/) || [])[1]) || null,
	};
}

// Slack: any POST is an incoming-webhook message ({ text, blocks }); answers "ok" like Slack.
function createSlack() {
	const messages = [];
	const svc = createService('slack', (method, url, body) => {
		if (method !== 'POST') return null;
		messages.push({ path: url.pathname, ...body, parsed: parseExceptionMessage(body) });
		return { body: { ok: true } };
	});
	svc.messages = messages;
	svc.reset = () => {
		messages.length = 0;
		svc.state.requests.length = 0;
	};
	return svc;
}

function sum(map) {
	let n = 0;
	for (const v of map.values()) n += v.writes;
	return n;
}

async function startFakeServices() {
	const [crm, ledger, slack, billing] = await Promise.all([
		createCrm().start(),
		createLedger().start(),
		createSlack().start(),
		createBilling().start(),
	]);
	return {
		crm,
		ledger,
		slack,
		billing,
		reset() {
			crm.reset();
			ledger.reset();
			slack.reset();
			billing.reset();
		},
		close: () => Promise.all([crm.close(), ledger.close(), slack.close(), billing.close()]),
	};
}

module.exports = { startFakeServices, createCrm, createLedger, createSlack, createBilling, parseExceptionMessage };
