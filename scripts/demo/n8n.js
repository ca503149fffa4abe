// One real n8n for the demo: Node 24 + n8n from the e2e cache, a fresh user folder, n8n's
// default SQLite database, our package installed the way n8n installs community packages,
// credentials and workflows imported through n8n's own CLI, `n8n start` on
// http://localhost:<port>, an owner account to log in with, and the workflows published.
'use strict';

const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const { run, startDaemon, stopDaemon } = require('../../test/e2e/lib/proc');
const { installCommunityPackage } = require('../../test/e2e/lib/community-install');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function portIsFree(port, host) {
	return new Promise((resolve) => {
		const srv = net.createServer();
		srv.once('error', () => resolve(false));
		srv.listen(port, host, () => srv.close(() => resolve(true)));
	});
}

function anyFreePort(host = '127.0.0.1') {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.once('error', reject);
		srv.listen(0, host, () => {
			const { port } = srv.address();
			srv.close(() => resolve(port));
		});
	});
}

/** 5678 (n8n's own) when it is free, else any free port; `wanted` = 0 means any. */
async function choosePort(wanted, host) {
	if (wanted && (await portIsFree(wanted, host))) return wanted;
	return anyFreePort(host);
}

function newOwner() {
	// n8n's password rule: 8–64 characters with a digit and an upper-case letter
	return { email: 'demo@example.com', firstName: 'Demo', lastName: 'Owner', password: `Demo-${crypto.randomBytes(5).toString('hex')}-N8n` };
}

function newUserFolder() {
	return fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-idempotency-demo-'));
}

/**
 * Prepares `userFolder` and starts n8n. `log(msg)` reports progress; n8n's own output goes
 * to <userFolder>/n8n.log.
 */
async function startDemoN8n({ userFolder, toolchain, packed, credentials = [], workflows, port, listen, log }) {
	const logFile = path.join(userFolder, 'n8n.log');
	const logStream = fs.createWriteStream(logFile, { flags: 'a' });
	const publicUrl = `http://localhost:${port}`;
	const localHost = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen.includes(':') ? `[${listen}]` : listen;
	const localUrl = `http://${localHost}:${port}`;
	const inst = { userFolder, logFile, port, publicUrl, localUrl, main: null, owner: newOwner() };

	const env = {
		// a clean slate: nothing from the developer's shell (DB_TYPE, EXECUTIONS_MODE, …) reaches n8n
		PATH: `${path.dirname(toolchain.node.bin)}:${process.env.PATH}`,
		HOME: userFolder,
		TZ: process.env.TZ || 'UTC',
		N8N_USER_FOLDER: userFolder,
		N8N_ENCRYPTION_KEY: crypto.randomBytes(24).toString('hex'),
		DB_TYPE: 'sqlite',
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: listen,
		N8N_HOST: 'localhost',
		N8N_PROTOCOL: 'http',
		WEBHOOK_URL: `${publicUrl}/`,
		N8N_EDITOR_BASE_URL: `${publicUrl}/`,
		N8N_SECURE_COOKIE: 'false',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_RUNNERS_BROKER_PORT: String(await anyFreePort()),
		N8N_LOG_LEVEL: 'info',
		N8N_LOG_OUTPUT: 'console',
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
	};
	inst.env = env;

	const cli = async (args, label) => {
		const out = await run(toolchain.node.bin, [toolchain.n8n.bin, ...args], { cwd: userFolder, env, label, timeoutMs: 300_000 });
		logStream.write(`\n$ n8n ${args.join(' ')}\n${out}\n`);
	};

	log(`installing ${packed.name}@${packed.version} into ${path.join(userFolder, '.n8n', 'nodes')}, the way n8n installs community packages`);
	await installCommunityPackage(userFolder, packed);

	if (credentials.length) {
		const file = path.join(userFolder, 'credentials.json');
		fs.writeFileSync(file, JSON.stringify(credentials, null, 2));
		log(`importing the store credential "${credentials[0].name}"`);
		await cli(['import:credentials', `--input=${file}`], 'n8n import:credentials');
		fs.rmSync(file); // plain text; n8n keeps it encrypted
	}
	const file = path.join(userFolder, 'workflows.json');
	fs.writeFileSync(file, JSON.stringify(workflows.map((wf) => ({ ...wf, active: false })), null, 2));
	log(`importing ${workflows.map((wf) => `"${wf.name}"`).join(' and ')} (n8n creates its SQLite database first)`);
	await cli(['import:workflow', `--input=${file}`], 'n8n import:workflow');

	log(`starting n8n on ${publicUrl} (its log: ${logFile})`);
	logStream.write('\n$ n8n start\n');
	inst.main = startDaemon(toolchain.node.bin, [toolchain.n8n.bin, 'start'], { cwd: userFolder, env, logStream, label: 'n8n' });
	inst.stop = async () => {
		await stopDaemon(inst.main, 15_000);
		await new Promise((r) => logStream.end(r));
	};
	inst.logText = () => fs.readFileSync(logFile, 'utf8');

	try {
		await waitUntil('n8n answers /healthz', inst, async () => (await fetch(`${localUrl}/healthz`).catch(() => null))?.status === 200);
		await waitUntil('the n8n editor is up', inst, async () => inst.logText().includes('Editor is now accessible'));
		await setUpOwner(inst);
		log(`publishing the workflows as their owner (the editor's Publish button)`);
		for (const wf of workflows) await publish(inst, wf.id);
		await waitForWebhooks(inst, workflows);
	} catch (err) {
		await inst.stop();
		throw err;
	}
	return inst;
}

// n8n 2.x registers a published workflow's webhooks asynchronously: wait until each answers.
async function waitForWebhooks(inst, workflows) {
	const { localUrl } = inst;
	for (const wf of workflows) {
		for (const hook of wf.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
			await waitUntil(`webhook /webhook/${hook.parameters.path}`, inst, async () => {
				const refusal = inst.logText().split('\n').find((l) => /Workflow cannot run on this instance|Unrecognized node type|Activation of workflow .* did fail/.test(l));
				if (refusal) throw new Error(`n8n cannot activate a workflow: ${refusal}`);
				// another method than the webhook's: 404 "did you mean…" once registered, plain 404 before
				const res = await fetch(`${localUrl}/webhook/${hook.parameters.path}`, { method: hook.parameters.httpMethod === 'GET' ? 'DELETE' : 'GET' }).catch(() => null);
				return res && (res.status !== 404 || /Did you mean to make a/.test(await res.text()));
			});
		}
	}
}

async function waitUntil(what, inst, check, timeoutMs = 180_000) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (inst.main.exitCode !== null || inst.main.signalCode !== null) {
			throw new Error(`${what}: n8n exited (${inst.main.exitCode ?? inst.main.signalCode}); see ${inst.logFile}`);
		}
		if (await check()) return;
		await sleep(250);
	}
	throw new Error(`${what}: not ready after ${timeoutMs / 1000} s; see ${inst.logFile}`);
}

// The owner account a person logs in with; its session cookie publishes the workflows.
async function setUpOwner(inst) {
	const res = await fetch(`${inst.localUrl}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(inst.owner),
	});
	if (res.status !== 200) throw new Error(`n8n refused the owner account: ${res.status} ${(await res.text()).slice(0, 300)}`);
	inst.cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function rest(inst, route, { method = 'GET', body } = {}) {
	const res = await fetch(`${inst.localUrl}/rest${route}`, {
		method,
		headers: { 'content-type': 'application/json', cookie: inst.cookie, 'browser-id': 'n8n-idempotency-demo' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	if (res.status !== 200) throw new Error(`${method} /rest${route}: ${res.status} ${text.slice(0, 300)}`);
	return JSON.parse(text).data;
}

// n8n 2.x: a workflow is live once a version of it is published (`n8n publish:workflow` would
// boot n8n once per workflow before start; this is what the editor's Publish button sends).
async function publish(inst, id) {
	const { versionId } = await rest(inst, `/workflows/${id}`);
	await rest(inst, `/workflows/${id}/activate`, { method: 'POST', body: { versionId } });
}

/**
 * Waits until n8n has reported its own database ready for `steadyMs` in a row. The embedded
 * store's first use runs PGlite's set-up in n8n's process for some seconds; a ping of n8n's
 * database monitor (every 2 s) that times out meanwhile marks the database "not ready" and n8n
 * answers 503 until the next ping, so the demo waits that out before it sends the storm.
 */
async function waitForSteadyDatabase(inst, steadyMs = 2500) {
	let since = null;
	await waitUntil("n8n's database ready", inst, async () => {
		const ok = (await fetch(`${inst.localUrl}/healthz/readiness`).catch(() => null))?.status === 200;
		since = ok ? (since ?? Date.now()) : null;
		return ok && Date.now() - since >= steadyMs;
	}, 60_000);
}

module.exports = { startDemoN8n, choosePort, newUserFolder, waitForSteadyDatabase };
