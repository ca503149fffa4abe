// A real n8n for end-to-end scenarios: Node 24 + n8n from the cache (lib/toolchain.js), a
// throwaway user folder, its own database (a fresh Postgres database or SQLite), our package
// installed the community way (lib/community-install.js), credentials and workflows imported
// through n8n's own CLI, `n8n start` (and `n8n worker`s in queue mode), then the workflows
// published the way the editor does it (n8n 1.x: activated through the CLI before start).
// Every child runs in its own process group and is killed on exit, failure or signal.
'use strict';

const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const { run, log, startDaemon, stopDaemon, killGroup, onExit } = require('./lib/proc');
const { ensureToolchain } = require('./lib/toolchain');
const { installCommunityPackage } = require('./lib/community-install');
const { PG, REDIS, createDatabase, dropDatabase, deleteRedisKeys } = require('./lib/databases');

const OWNER = { email: 'e2e@example.com', firstName: 'E2E', lastName: 'Owner', password: 'E2e-password-1' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

/**
 * Starts a real n8n. Options:
 *  - db: 'postgres' (default; a fresh database e2e_<random>, dropped on stop) | 'sqlite'
 *  - packed: output of packPackage() to install as a community package (optional)
 *  - credentials: [{ id, name, type, data }] (plain text; n8n encrypts on import)
 *  - workflows: [workflow JSON with `id`]; all are imported and published (their `active` field is ignored)
 *  - publish: false to import the workflows without publishing them
 *  - queue: { workers: N, concurrency } to run main + N `n8n worker` (EXECUTIONS_MODE=queue)
 *  - env: extra environment for every n8n process
 *  - toolchain: { node: { bin }, n8n: { dir, bin } } to run another n8n than the default
 *    (e.g. n8n 1.123 under the machine's own Node 20; see scenarios/n8n-1.js)
 */
async function startN8n(opts = {}) {
	const db = opts.db || 'postgres';
	const toolchain = opts.toolchain || (await ensureToolchain({ sqlite: db === 'sqlite' }));
	const major = n8nMajor(toolchain);
	const runId = crypto.randomBytes(4).toString('hex');
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-n8n-'));
	const logFile = path.join(userFolder, 'n8n.log');
	const logStream = fs.createWriteStream(logFile, { flags: 'a' });
	const port = await freePort();
	const baseUrl = `http://127.0.0.1:${port}`;
	const bullPrefix = `e2e_bull_${runId}`;
	const n8nRedisPrefix = `e2e_n8n_${runId}`;
	const inst = { runId, userFolder, logFile, port, baseUrl, db, processes: [], workers: [], cookie: null, toolchain };
	log(`n8n run ${runId}: user folder ${userFolder}, port ${port}, db ${db}${opts.queue ? `, queue mode with ${opts.queue.workers} workers` : ''}`);

	let dbName = null;
	const cleanup = () => {
		for (const p of inst.processes) killGroup(p.pid, 'SIGKILL');
		if (process.env.E2E_KEEP) return;
		if (dbName) {
			try {
				dropDatabase(dbName);
			} catch (err) {
				log(`could not drop database ${dbName}: ${String(err.stderr || err.message).trim()}`);
			}
			dbName = null;
		}
		if (opts.queue) {
			deleteRedisKeys(`${bullPrefix}*`, opts.queue.redisDb ?? 0);
			deleteRedisKeys(`*${n8nRedisPrefix}*`, opts.queue.redisDb ?? 0);
		}
		fs.rmSync(userFolder, { recursive: true, force: true });
	};
	onExit(cleanup);

	const env = {
		// a clean slate: nothing from the developer's shell that n8n or npm would read
		PATH: `${path.dirname(toolchain.node.bin)}:${process.env.PATH}`,
		HOME: userFolder,
		TZ: 'UTC',
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: `e2e-${runId}-encryption-key`,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		WEBHOOK_URL: `${baseUrl}/`,
		N8N_EDITOR_BASE_URL: `${baseUrl}/`,
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_LOG_LEVEL: process.env.E2E_N8N_LOG_LEVEL || 'info',
		N8N_LOG_OUTPUT: 'console',
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		...(db === 'postgres'
			? {
					DB_TYPE: 'postgresdb',
					DB_POSTGRESDB_HOST: PG.host,
					DB_POSTGRESDB_PORT: String(PG.port),
					DB_POSTGRESDB_USER: PG.user,
					DB_POSTGRESDB_PASSWORD: PG.password,
					// n8n's default pool of 2 connections is starved by 50+ concurrent executions
					// saving their data: its 5 s health ping then fails and n8n answers every
					// request with 503 "Database is not ready!" for a while
					DB_POSTGRESDB_POOL_SIZE: '10',
				}
			: { DB_TYPE: 'sqlite' }),
		...(opts.queue
			? {
					EXECUTIONS_MODE: 'queue',
					QUEUE_BULL_REDIS_HOST: REDIS.host,
					QUEUE_BULL_REDIS_PORT: String(REDIS.port),
					QUEUE_BULL_REDIS_DB: String(opts.queue.redisDb ?? 0),
					QUEUE_BULL_PREFIX: bullPrefix,
					// n8n's own Redis keys (webhook cache, instance registry) and pub/sub channels
					// are under "n8n:" by default, shared by every queue-mode n8n on this Redis: a
					// stale cached webhook of another run makes publishing fail with "There is a
					// conflict with one of the webhooks", and commands would cross between runs
					N8N_REDIS_KEY_PREFIX: n8nRedisPrefix,
					QUEUE_HEALTH_CHECK_ACTIVE: 'false',
					OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
				}
			: {}),
		...(opts.env || {}),
	};
	if (db === 'postgres') {
		dbName = createDatabase('e2e');
		env.DB_POSTGRESDB_DATABASE = dbName;
	}
	inst.env = env;

	const n8nCli = (args, label) =>
		run(toolchain.node.bin, [toolchain.n8n.bin, ...args], { cwd: userFolder, env, label, timeoutMs: 180_000 }).then((out) => {
			logStream.write(`\n$ n8n ${args.join(' ')}\n${out}\n`);
			return out;
		});
	inst.cli = n8nCli;

	try {
		if (opts.packed) await installCommunityPackage(userFolder, opts.packed);

		// The CLI commands run n8n's migrations first, so the first one on a fresh DB is the slow one.
		if (opts.credentials?.length) {
			const file = path.join(userFolder, 'credentials.json');
			fs.writeFileSync(file, JSON.stringify(opts.credentials, null, 2));
			log(`importing ${opts.credentials.length} credential(s)`);
			await n8nCli(['import:credentials', `--input=${file}`], 'import:credentials');
		}
		const workflows = opts.workflows || [];
		if (workflows.length) {
			for (const wf of workflows) if (!wf.id) throw new Error(`workflow "${wf.name}" needs an id to be published`);
			const file = path.join(userFolder, 'workflows.json');
			fs.writeFileSync(file, JSON.stringify(workflows.map((wf) => ({ ...wf, active: false })), null, 2));
			log(`importing ${workflows.length} workflow(s): ${workflows.map((wf) => `${wf.id} "${wf.name}"`).join(', ')}`);
			await n8nCli(['import:workflow', `--input=${file}`], 'import:workflow');
			// n8n 1.x has no publishing: a workflow is activated, all in one command.
			if (opts.publish !== false && major < 2) await n8nCli(['update:workflow', '--all', '--active=true'], 'update:workflow');
		}

		const probes = opts.publish === false ? [] : workflows.flatMap(webhookProbes);
		// n8n 2.x: "active" means a published version. `n8n publish:workflow` boots n8n once per
		// workflow (~6 s each); the editor's Publish (the REST call below) takes milliseconds.
		const publishLive = opts.publish !== false && major >= 2 && workflows.length > 0;
		inst.webhookProbes = publishLive ? [] : probes;
		await startMain(inst, logStream);
		if (publishLive) {
			const t0 = Date.now();
			for (const wf of workflows) await publishWorkflow(inst, wf.id);
			inst.webhookProbes = probes; // a restart waits for them too
			await waitForWebhooks(inst, inst.main, `main${inst.mainStarts > 1 ? `-${inst.mainStarts - 1}` : ''}`);
			log(`published ${workflows.length} workflow(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		}
		for (let i = 0; i < (opts.queue?.workers || 0); i++) await startWorker(inst, logStream, i, opts.queue.concurrency || 10);
	} catch (err) {
		log(`n8n failed to come up; last log lines:\n${tail(logFile, 40)}`);
		cleanup();
		throw err;
	}

	inst.webhook = (webhookPath, body, init = {}) => postJson(`${baseUrl}/webhook/${webhookPath}`, body, init);
	inst.login = () => login(inst);
	inst.nodeTypes = () => nodeTypes(inst);
	inst.rest = (p, init) => rest(inst, p, init);
	inst.executionErrors = (limit) => executionErrors(inst, limit);
	inst.logText = () => fs.readFileSync(logFile, 'utf8');
	// Queue mode: how many executions each worker picked up, e.g. { 'worker-0': 97, 'worker-1': 103 }.
	inst.executionsPerWorker = () => {
		const counts = Object.fromEntries(inst.workers.map((_, i) => [`worker-${i}`, 0]));
		for (const m of inst.logText().matchAll(/^\[(worker-\d+)\] Worker started execution/gm)) counts[m[1]]++;
		return counts;
	};
	// Simulates a crash: SIGKILL to the main process group, no graceful shutdown.
	inst.crash = async () => {
		const main = inst.main;
		killGroup(main.pid, 'SIGKILL');
		await main.exited;
		log('n8n main killed with SIGKILL');
	};
	inst.restart = async () => {
		await stopDaemon(inst.main);
		await startMain(inst, logStream);
	};
	inst.stop = async () => {
		await Promise.all(inst.workers.map((w) => stopDaemon(w)));
		await stopDaemon(inst.main);
		logStream.end();
		if (process.env.E2E_KEEP) log(`E2E_KEEP set: keeping ${userFolder}${dbName ? ` and database ${dbName}` : ''}`);
		cleanup();
	};
	return inst;
}

async function startMain(inst, logStream) {
	const t0 = Date.now();
	const label = `main${inst.mainStarts ? `-${inst.mainStarts}` : ''}`;
	inst.mainStarts = (inst.mainStarts || 0) + 1;
	logStream.write(`\n$ n8n start (${label})\n`);
	const main = startDaemon(inst.toolchain.node.bin, [inst.toolchain.n8n.bin, 'start'], { cwd: inst.userFolder, env: inst.env, logStream, label });
	inst.main = main;
	inst.processes.push(main);
	await waitFor(`n8n main on ${inst.baseUrl}`, main, async () => {
		const res = await fetch(`${inst.baseUrl}/healthz`).catch(() => null);
		return res && res.status === 200;
	});
	// /healthz answers as soon as the HTTP server listens; webhooks are registered a moment later.
	await waitFor('n8n editor ready', main, async () => fs.readFileSync(inst.logFile, 'utf8').includes(`[${label}] Editor is now accessible`));
	await waitForWebhooks(inst, main, label);
	log(`n8n main ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// n8n 2.x publishes workflows asynchronously (its publication outbox), after the editor is
// up: wait until every published webhook path is registered. A request with another method
// than the webhook's tells "registered for other methods" from "not registered".
async function waitForWebhooks(inst, main, label) {
	for (const probe of inst.webhookProbes || []) {
		await waitFor(`webhook ${probe.method} /webhook/${probe.path} registered`, main, async () => {
			// n8n gives up on a workflow it cannot load and says so once; do not wait out the timeout
			const refusal = fs
				.readFileSync(inst.logFile, 'utf8')
				.split('\n')
				.find((l) => l.startsWith(`[${label}] `) && /Workflow cannot run on this instance|Unrecognized node type|Activation of workflow .* did fail/.test(l));
			if (refusal) throw new Error(`n8n cannot activate a workflow: ${refusal}`);
			const res = await fetch(`${inst.baseUrl}/webhook/${probe.path}`, { method: probe.method === 'GET' ? 'DELETE' : 'GET' }).catch(() => null);
			return res && (res.status !== 404 || /Did you mean to make a/.test(await res.text()));
		});
	}
}

// What the editor's Publish button does: publish the workflow's current version.
async function publishWorkflow(inst, id) {
	const wf = await rest(inst, `/rest/workflows/${id}`);
	const versionId = wf.json?.data?.versionId;
	if (wf.status !== 200 || !versionId) throw new Error(`GET /rest/workflows/${id}: ${wf.status} ${wf.text.slice(0, 300)}`);
	const res = await rest(inst, `/rest/workflows/${id}/activate`, { method: 'POST', body: { versionId } });
	if (res.status !== 200) throw new Error(`publishing workflow ${id}: ${res.status} ${res.text.slice(0, 500)}`);
}

// The major version of the n8n a toolchain holds (its CLI differs between 1.x and 2.x).
function n8nMajor(toolchain) {
	const pkg = JSON.parse(fs.readFileSync(path.join(toolchain.n8n.dir, 'node_modules', 'n8n', 'package.json'), 'utf8'));
	return Number(pkg.version.split('.')[0]);
}

function webhookProbes(wf) {
	return wf.nodes
		.filter((n) => n.type === 'n8n-nodes-base.webhook' && !n.disabled)
		.map((n) => ({ path: n.parameters.path, method: n.parameters.httpMethod || 'GET' }));
}

async function startWorker(inst, logStream, index, concurrency) {
	const t0 = Date.now();
	const env = { ...inst.env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
	const label = `worker-${index}`;
	logStream.write(`\n$ n8n worker (${label})\n`);
	const worker = startDaemon(inst.toolchain.node.bin, [inst.toolchain.n8n.bin, 'worker', `--concurrency=${concurrency}`], { cwd: inst.userFolder, env, logStream, label });
	inst.workers.push(worker);
	inst.processes.push(worker);
	await waitFor(`n8n worker ${index}`, worker, async () => fs.readFileSync(inst.logFile, 'utf8').includes(`[${label}] n8n worker is now ready`));
	log(`n8n worker ${index} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

async function waitFor(what, child, check, timeoutMs = 120_000) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what}: process exited (${child.exitCode ?? child.signalCode}) before it was ready`);
		if (await check()) return;
		await sleep(250);
	}
	throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
}

function tail(file, lines) {
	try {
		return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

async function postJson(url, body, { headers = {}, timeoutMs = 60_000, method = 'POST' } = {}) {
	const res = await fetch(url, {
		method,
		headers: { 'content-type': 'application/json', ...headers },
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(timeoutMs),
	});
	const text = await res.text();
	let json;
	try {
		json = text ? JSON.parse(text) : undefined;
	} catch {
		json = undefined;
	}
	return { status: res.status, json, text, headers: res.headers };
}

// The owner account is set up on first use; the session cookie unlocks /rest and /types.
async function login(inst) {
	if (inst.cookie) return inst.cookie;
	const setup = await postJson(`${inst.baseUrl}/rest/owner/setup`, OWNER);
	let res = setup;
	if (setup.status !== 200) res = await postJson(`${inst.baseUrl}/rest/login`, { emailOrLdapLoginId: OWNER.email, password: OWNER.password });
	if (res.status !== 200) throw new Error(`cannot log in to n8n: ${res.status} ${res.text.slice(0, 300)}`);
	const cookie = (res.headers.getSetCookie?.() || [res.headers.get('set-cookie')]).map((c) => c.split(';')[0]).join('; ');
	inst.cookie = cookie;
	return cookie;
}

async function rest(inst, p, init = {}) {
	const cookie = await login(inst);
	return postJson(`${inst.baseUrl}${p}`, init.body, { method: init.method || 'GET', headers: { cookie, 'browser-id': 'e2e' } });
}

// The latest failed executions with n8n's own error: what a person would open in the editor.
async function executionErrors(inst, limit = 3) {
	const filter = encodeURIComponent(JSON.stringify({ status: ['error', 'crashed'] }));
	const list = await rest(inst, `/rest/executions?filter=${filter}&limit=${limit}`);
	const flatted = require(path.join(inst.toolchain.n8n.dir, 'node_modules', 'flatted'));
	const out = [];
	for (const summary of list.json?.data?.results || []) {
		const one = await rest(inst, `/rest/executions/${summary.id}`);
		const run = flatted.parse(one.json.data.data).resultData;
		const err = run.error || {};
		out.push({
			id: summary.id,
			workflow: summary.workflowName,
			node: err.node?.name || run.lastNodeExecuted,
			message: err.message,
			description: err.description,
		});
	}
	return out;
}

// The node types the editor would offer: n8n's own description list, served from its static cache.
async function nodeTypes(inst) {
	const res = await rest(inst, '/types/nodes.json');
	if (res.status !== 200 || !Array.isArray(res.json)) throw new Error(`GET /types/nodes.json: ${res.status} ${res.text.slice(0, 200)}`);
	return res.json;
}

module.exports = { startN8n, postJson, freePort, OWNER };
