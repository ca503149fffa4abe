// Turns the user-facing example workflows (examples/*.json) into what one e2e run imports:
// the far-side URLs pointed at this run's fake services, the store switched to Postgres or
// Redis with this run's credentials, and unique workflow ids and webhook paths so several
// variants can live in one n8n. Also makes the store credentials and cleans up after them.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { createDatabase, dropDatabase, deleteRedisKeys } = require('./databases');
const { onExit } = require('./proc');

const EXAMPLES = path.resolve(__dirname, '..', '..', '..', 'examples');
const PACKAGE = 'n8n-nodes-idempotency';

// The placeholders the examples use for the systems they write to.
const PLACEHOLDERS = {
	crm: 'https://crm.example.com',
	ledger: 'https://ledger.example.com',
	billing: 'https://billing.example.com',
	slack: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
};

const CREDENTIAL_IDS = { postgres: 'idemStorePostgres', redis: 'idemStoreRedis' };
const CREDENTIAL_TYPES = { postgres: 'idempotencyPostgresApi', redis: 'idempotencyRedisApi' };
const CREDENTIAL_NAMES = { postgres: 'Idempotency Store (Postgres)', redis: 'Idempotency Store (Redis)' };
// The Slack app whose button clicks the fake Slack signs (scenarios/resolve-from-slack.js).
const SLACK_APP = { id: 'idemSlackApp', name: 'Idempotency Slack App', type: 'idempotencySlackApi', signingSecret: '5b1e9c3a7d2f4e6a8b0c1d2e3f4a5b6c' };

function loadExample(name) {
	return JSON.parse(fs.readFileSync(path.join(EXAMPLES, `${name}.json`), 'utf8'));
}

function shortId() {
	// n8n workflow ids are 16 characters of [0-9a-zA-Z]
	return crypto.randomBytes(12).toString('base64').replace(/[^0-9a-zA-Z]/g, '').padEnd(16, 'x').slice(0, 16);
}

/**
 * A copy of an example for one run: `services` ({ crm, ledger, billing, slack } with `.url`) replace
 * the placeholder URLs; `store` selects postgres or redis on every node of this package;
 * `pathSuffix` makes each webhook path unique; `namespaceSuffix` gives the variant a key space
 * of its own (so one scenario's stats and open exceptions are not another's); `tweak(node)`
 * may change any node.
 */
function prepareWorkflow(example, { services = {}, store = 'postgres', pathSuffix = '', namespaceSuffix = '', tweak } = {}) {
	let text = JSON.stringify(typeof example === 'string' ? loadExample(example) : example);
	for (const [svc, placeholder] of Object.entries(PLACEHOLDERS)) {
		if (services[svc]) text = text.split(placeholder).join(services[svc].url);
	}
	const wf = JSON.parse(text);
	wf.id = shortId();
	if (pathSuffix) wf.name = `${wf.name} [${pathSuffix}]`;
	for (const node of wf.nodes) {
		if (node.type === 'n8n-nodes-base.webhook') {
			if (pathSuffix) node.parameters.path = `${node.parameters.path}-${pathSuffix}`;
			node.webhookId = crypto.randomUUID();
		}
		if (node.type.startsWith(`${PACKAGE}.`)) {
			node.parameters.store = store;
			if (namespaceSuffix && typeof node.parameters.namespace === 'string' && !node.parameters.namespace.startsWith('=')) {
				node.parameters.namespace = `${node.parameters.namespace}-${namespaceSuffix}`;
			}
			node.credentials = { [CREDENTIAL_TYPES[store]]: { id: CREDENTIAL_IDS[store], name: CREDENTIAL_NAMES[store] } };
			if (node.parameters.operation === 'resolveFromSlack') node.credentials[SLACK_APP.type] = { id: SLACK_APP.id, name: SLACK_APP.name };
		}
		if (tweak) tweak(node);
	}
	return wf;
}

/**
 * Workflows that work together (e.g. the workflow that writes and the one that reconciles its
 * writes), per store: `examples` maps a role to an example's name; all of one store share the
 * path suffix `<store>-<suffix>` and the namespace suffix `suffix`; `tweak(node)` as above.
 */
function variantsPerStore({ services, examples, suffix, tweak, stores = ['postgres', 'redis'] }) {
	const one = (store, example) => prepareWorkflow(example, { services, store, pathSuffix: `${store}-${suffix}`, namespaceSuffix: suffix, tweak });
	return Object.fromEntries(stores.map((store) => [store, Object.fromEntries(Object.entries(examples).map(([role, example]) => [role, one(store, example)]))]));
}

// The path of the workflow's webhook; `name` picks one when the workflow has several.
function webhookPath(wf, name) {
	const hook = wf.nodes.find((n) => n.type === 'n8n-nodes-base.webhook' && (!name || n.name === name));
	if (!hook) throw new Error(`workflow "${wf.name}" has no webhook${name ? ` named "${name}"` : ''}`);
	return hook.parameters.path;
}

// The namespace the variant's Guard uses (after namespaceSuffix).
function guardNamespace(wf) {
	return wf.nodes.find((n) => n.type === `${PACKAGE}.idempotencyGuard`).parameters.namespace;
}

/**
 * Credentials for both stores, isolated to one run: a fresh Postgres database for the
 * idempotency schema and a fresh Redis key prefix. Everything is removed by `cleanup()`
 * (also registered to run at exit).
 */
function makeStoreCredentials() {
	const runId = crypto.randomBytes(4).toString('hex');
	const database = createDatabase('e2e_store');
	const keyPrefix = `idem-e2e-${runId}:`;
	let cleaned = false;
	const cleanup = () => {
		if (cleaned || process.env.E2E_KEEP) return;
		cleaned = true;
		try {
			dropDatabase(database);
		} catch {
			/* best effort */
		}
		deleteRedisKeys(`${keyPrefix}*`);
	};
	onExit(cleanup);
	return {
		database,
		keyPrefix,
		cleanup,
		credentials: [
			{
				id: CREDENTIAL_IDS.postgres,
				name: CREDENTIAL_NAMES.postgres,
				type: CREDENTIAL_TYPES.postgres,
				data: { host: '127.0.0.1', port: 5432, database, user: 'postgres', password: '', ssl: 'disable', schema: 'n8n_idempotency', maxConnections: 10 },
			},
			{
				id: CREDENTIAL_IDS.redis,
				name: CREDENTIAL_NAMES.redis,
				type: CREDENTIAL_TYPES.redis,
				data: { host: '127.0.0.1', port: 6379, username: '', password: '', database: 0, tls: false, keyPrefix, mode: 'standalone', allowNoPersistence: true },
			},
			{ id: SLACK_APP.id, name: SLACK_APP.name, type: SLACK_APP.type, data: { signingSecret: SLACK_APP.signingSecret } },
		],
	};
}

module.exports = { loadExample, prepareWorkflow, variantsPerStore, webhookPath, guardNamespace, makeStoreCredentials, PLACEHOLDERS, shortId, PACKAGE, SLACK_APP };
