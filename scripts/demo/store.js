// Which idempotency store the demo's nodes use. None is set up by default: `embedded` (PGlite in
// the n8n user folder). POSTGRES_URL or REDIS_URL (or DEMO_STORE=embedded|postgres|redis to
// choose when both are set) switches every node to that store, through an imported credential.
// Nothing here opens a connection: n8n's nodes do, and only to the store chosen.
'use strict';

const CREDENTIAL = {
	postgres: { id: 'demoStorePostgres', name: 'Idempotency Store (Postgres)', type: 'idempotencyPostgresApi' },
	redis: { id: 'demoStoreRedis', name: 'Idempotency Store (Redis)', type: 'idempotencyRedisApi' },
};

function postgresCredential(url) {
	const u = new URL(url);
	const sslmode = u.searchParams.get('sslmode');
	return {
		host: u.hostname || 'localhost',
		port: Number(u.port || 5432),
		database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
		user: decodeURIComponent(u.username) || 'postgres',
		password: decodeURIComponent(u.password),
		ssl: sslmode === 'require' || sslmode === 'verify-full' ? sslmode : 'disable',
		schema: 'n8n_idempotency',
		maxConnections: 10,
	};
}

function redisCredential(url) {
	const u = new URL(url);
	return {
		mode: 'standalone',
		host: u.hostname || 'localhost',
		port: Number(u.port || 6379),
		username: decodeURIComponent(u.username),
		password: decodeURIComponent(u.password),
		database: Number(u.pathname.replace(/^\//, '') || 0),
		tls: u.protocol === 'rediss:',
		keyPrefix: 'idem:',
		// A demo Redis often keeps nothing on disk; the store would refuse to claim on it. Accepted
		// here for the demo only — a real credential turns on AOF instead.
		allowNoPersistence: true,
	};
}

// Where the URL points, without its password: what the demo prints.
function describeUrl(url) {
	const u = new URL(url);
	u.password = u.password ? '***' : '';
	return u.toString();
}

/**
 * The store for this run. An external store outlives the demo, so each run there gets its own
 * namespace: its numbers are its own, and earlier runs' keys never answer as duplicates.
 */
function chooseStore(env, runId) {
	const wanted = (env.DEMO_STORE || '').trim() || (env.POSTGRES_URL ? 'postgres' : env.REDIS_URL ? 'redis' : 'embedded');
	if (wanted === 'embedded') {
		return { kind: 'embedded', namespace: 'crm-leads', credential: null, where: null };
	}
	if (wanted !== 'postgres' && wanted !== 'redis') {
		throw new Error(`DEMO_STORE="${wanted}": use embedded, postgres or redis`);
	}
	const url = wanted === 'postgres' ? env.POSTGRES_URL : env.REDIS_URL;
	if (!url) throw new Error(`DEMO_STORE=${wanted} needs ${wanted === 'postgres' ? 'POSTGRES_URL' : 'REDIS_URL'}`);
	const data = wanted === 'postgres' ? postgresCredential(url) : redisCredential(url);
	return {
		kind: wanted,
		namespace: `crm-leads-demo-${runId}`,
		credential: { ...CREDENTIAL[wanted], data },
		where: describeUrl(url) + (wanted === 'postgres' ? ` (schema ${data.schema})` : ` (key prefix ${data.keyPrefix})`),
	};
}

/** Points one of this package's nodes at the chosen store. */
function applyStore(node, store) {
	node.parameters.store = store.kind;
	if (node.parameters.namespace !== undefined) node.parameters.namespace = store.namespace;
	if (store.credential) {
		const { id, name, type } = store.credential;
		node.credentials = { [type]: { id, name } };
	} else {
		delete node.credentials;
	}
}

module.exports = { chooseStore, applyStore, postgresCredential, redisCredential };
