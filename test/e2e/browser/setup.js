// What the browser suite's n8n starts with: the user's own store credentials (IDs and names of
// their own, as the editor makes them — not the IDs an example might carry), lead-intake
// imported with the n8n CLI exactly as shipped (only its far-side URLs pointed at the fake
// services), and a small workflow for the panel tests (pinned input → Guard → Ledger, Router).
'use strict';

const os = require('os');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { loadExample, makeStoreCredentials, PLACEHOLDERS, shortId } = require('../lib/workflows');

const PACKAGE = 'n8n-nodes-idempotency';

/** A shipped example with the placeholder URLs pointed at `services`; credentials as shipped. */
function shippedExample(name, services) {
	let text = JSON.stringify(loadExample(name));
	for (const [svc, placeholder] of Object.entries(PLACEHOLDERS)) if (services[svc]) text = text.split(placeholder).join(services[svc].url);
	const wf = JSON.parse(text);
	wf.id = shortId();
	return wf;
}

function panelWorkflow(credentials) {
	const pg = credentials.find((c) => c.type === 'idempotencyPostgresApi');
	const cred = { idempotencyPostgresApi: { id: pg.id, name: pg.name } };
	const node = (name, type, position, parameters, extra = {}) => ({ id: crypto.randomUUID(), name, type, typeVersion: 1, position, parameters, ...extra });
	return {
		id: shortId(),
		name: 'Editor: panels and a dragged field',
		nodes: [
			node('Test input', 'n8n-nodes-base.manualTrigger', [0, 0], {}),
			node('Idempotency Guard', `${PACKAGE}.idempotencyGuard`, [260, 0], { store: 'postgres', namespace: `editor-${crypto.randomBytes(3).toString('hex')}`, keySource: 'fields', keyFields: '', options: {} }, { credentials: cred }),
			node('State Ledger', `${PACKAGE}.stateLedger`, [560, -120], { store: 'postgres', operation: 'markProcessed', keySource: 'metadata', result: '={{ {} }}', options: {} }, { credentials: cred }),
			node('Exception Router', `${PACKAGE}.exceptionRouter`, [560, 160], { store: 'postgres', operation: 'route', fallbackOwner: 'team-ops', options: {} }, { credentials: cred }),
		],
		connections: {
			'Test input': { main: [[{ node: 'Idempotency Guard', type: 'main', index: 0 }]] },
			'Idempotency Guard': { main: [[], [], [{ node: 'Exception Router', type: 'main', index: 0 }]] },
		},
		pinData: { 'Test input': [{ json: { email: 'ann@example.com', name: 'Ann' } }] },
		settings: { executionOrder: 'v1' },
	};
}

function browserSetup(services) {
	const stores = makeStoreCredentials();
	// The user's credentials: the editor gives them random IDs and names "… account".
	const credentials = stores.credentials.map((c) => ({ ...c, id: shortId(), name: `${c.name} account` }));
	const leadIntake = shippedExample('lead-intake', services);
	const panels = panelWorkflow(credentials);
	// The other two examples are imported through the editor's Import from File…
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-examples-'));
	const files = {};
	for (const name of ['invoice-posting', 'key-inspector']) {
		const wf = shippedExample(name, services);
		delete wf.id;
		files[name] = path.join(dir, `${name}.json`);
		fs.writeFileSync(files[name], JSON.stringify(wf, null, 2));
	}
	return {
		stores,
		credentials,
		workflows: { leadIntake, panels },
		files,
		cleanup() {
			stores.cleanup();
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

module.exports = { browserSetup, shippedExample };
