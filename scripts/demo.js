#!/usr/bin/env node
// `npm run demo`: a real n8n with the lead-intake example on the zero-setup embedded store,
// hit by a storm of duplicate deliveries, then left running to explore (Ctrl-C stops it).
//
//   npm run demo                      install what is missing, run the storm, keep n8n running
//   npm run demo -- --once            exit after the table: 0 when every check holds, else 1
//   npm run demo -- --json            also print the result as one JSON line (last line of stdout)
//   npm run demo -- --port=5679       n8n's port (default 5678 when free, else any; 0 = any)
//   npm run demo -- --listen=0.0.0.0  listen on every interface (default 127.0.0.1)
//   npm run demo -- --tarball=F.tgz   install this `npm pack` output instead of building the repo
//   npm run demo -- --no-build        pack dist/ as it is, without `npm run build`
//   npm run demo -- --keep            keep the n8n user folder (database, log, embedded store)
//   POSTGRES_URL=postgres://… or REDIS_URL=redis://… (DEMO_STORE= to choose when both are set):
//                                     use that store, through an imported credential
//   IDEMPOTENCY_E2E_CACHE             where Node 24 and n8n are cached (~/.cache/n8n-nodes-idempotency)
//
// The table goes to stdout, progress to stderr.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFile } = require('child_process');

// `npm run demo` hands this repo's npm settings to every child through the environment: its
// .npmrc's ignore-scripts=true (which silently turns `npm rebuild sqlite3` in the n8n cache into
// a no-op) and its folder as npm's local prefix. The npm commands the demo runs work in other
// folders and must read their own settings, as with `node scripts/demo.js`.
for (const name of ['npm_config_ignore_scripts', 'npm_config_local_prefix']) delete process.env[name];

// proc.js answers a signal by SIGKILLing every child at once, right for a test harness. The demo
// shuts n8n down gently instead, so its handlers replace those.
const inherited = new Set(['SIGINT', 'SIGTERM', 'SIGHUP'].flatMap((s) => process.listeners(s)));
const proc = require('../test/e2e/lib/proc');
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	for (const fn of process.listeners(sig)) if (!inherited.has(fn)) process.removeListener(sig, fn);
}
const toolchain = require('../test/e2e/lib/toolchain');
const { packPackage, REPO } = require('../test/e2e/lib/community-install');
const { startFakeServices } = require('../test/e2e/fake-services');
const { chooseStore } = require('./demo/store');
const { leadIntake, demoStats, LEAD_PATH, STATS_PATH } = require('./demo/workflows');
const { startDemoN8n, choosePort, newUserFolder, waitForSteadyDatabase } = require('./demo/n8n');
const { fireStorm } = require('./demo/storm');
const { summarise, renderTable } = require('./demo/report');

const args = Object.fromEntries(
	process.argv.slice(2).map((a) => {
		const [k, ...v] = a.replace(/^--/, '').split('=');
		return [k, v.length ? v.join('=') : true];
	}),
);

const t0 = Date.now();
function log(msg) {
	process.stderr.write(`[demo ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}

// First run: npm prints nothing while it installs 2.8 GB, so report the folder's growth.
function installProgress() {
	const root = toolchain.cacheRoot();
	const watched = [
		{ what: `Node ${toolchain.NODE_VERSION}`, dir: path.join(root, `node-${toolchain.NODE_VERSION}`), about: 200 },
		{ what: `n8n ${toolchain.N8N_VERSION}`, dir: path.join(root, `n8n-${toolchain.N8N_VERSION}`), about: 2800 },
	];
	const since = {};
	const timer = setInterval(() => {
		for (const w of watched) {
			if (!fs.existsSync(`${w.dir}.lock`)) continue;
			since[w.what] ??= Date.now();
			const elapsed = `${Math.round((Date.now() - since[w.what]) / 1000)} s`;
			// npm first resolves the whole tree (minutes for n8n, little on disk yet), then unpacks
			execFile('du', ['-sm', w.dir], (err, out) => {
				const mb = err ? 0 : parseInt(out, 10);
				if (mb < 50) log(`${w.what}: npm is resolving the dependency tree (${elapsed})`);
				else log(`${w.what}: ${mb} MB of about ${w.about} MB unpacked (${elapsed})`);
			});
		}
	}, 10_000);
	timer.unref();
	return () => clearInterval(timer);
}

// A cache filled by an earlier `npm run …` without that scrub says sqlite3 is built when
// nothing was compiled, and n8n then cannot open its database: check the add-on itself.
async function ensureSqliteBinary(tools) {
	const addon = path.join(tools.n8n.dir, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node');
	if (fs.existsSync(addon)) return;
	log('sqlite3: the cache says built but the add-on is missing; building it again');
	fs.rmSync(path.join(tools.n8n.dir, '.sqlite3-built'), { force: true });
	await toolchain.ensureSqlite(tools.n8n, tools.node);
	if (!fs.existsSync(addon)) throw new Error(`sqlite3 did not build: ${addon} is missing`);
}

async function readStore(n8n) {
	const res = await fetch(`${n8n.localUrl}/webhook/${STATS_PATH}`, { signal: AbortSignal.timeout(60_000) });
	const text = await res.text();
	if (res.status !== 200) throw new Error(`the stats workflow answered ${res.status}: ${text.slice(0, 300)}`);
	return JSON.parse(text);
}

function tail(file, lines = 40) {
	try {
		return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
	} catch {
		return '(no log)';
	}
}

let userFolder = null;
let n8n = null;
let services = null;
let stopping = null;

async function shutdown({ keep = Boolean(args.keep) } = {}) {
	if (!stopping) {
		stopping = (async () => {
			if (n8n) {
				log('stopping n8n');
				await n8n.stop().catch((err) => log(`n8n did not stop cleanly: ${err.message}`));
			}
			if (services) await services.close().catch(() => undefined);
			if (userFolder && !keep) fs.rmSync(userFolder, { recursive: true, force: true });
			else if (userFolder) log(`kept ${userFolder} (n8n.log, .n8n/database.sqlite, .n8n/idempotency/)`);
		})();
	}
	return stopping;
}

let firstSignalAt = 0;
let exitCode = 130; // interrupted before the table; then 0 or 1 by its checks
function onSignal(sig) {
	// One Ctrl-C can arrive twice (from the terminal and forwarded by npm): only a later one counts.
	if (stopping && Date.now() - firstSignalAt < 2000) return;
	if (stopping || !n8n) {
		// a second Ctrl-C, or one during the installs: stop everything now (locks are released on exit)
		log(`${sig}: stopping at once`);
		proc.killAllNow();
		process.exit(130);
	}
	firstSignalAt = Date.now();
	log(`${sig}: shutting down`);
	shutdown().then(() => process.exit(exitCode));
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => onSignal(sig));

async function main() {
	const listen = typeof args.listen === 'string' ? args.listen : '127.0.0.1';
	const wantedPort = args.port === undefined ? 5678 : Number(args.port);
	if (!Number.isInteger(wantedPort) || wantedPort < 0 || wantedPort > 65535) throw new Error(`--port=${args.port}: give a port number (0 = any free port)`);
	const runId = crypto.randomBytes(3).toString('hex');
	const store = chooseStore(process.env, runId);
	log(store.kind === 'embedded' ? 'store: embedded (PGlite in the n8n user folder; no Postgres, no Redis)' : `store: ${store.kind} at ${store.where}, namespace ${store.namespace}`);

	const stopProgress = installProgress();
	const tools = await toolchain.ensureToolchain({ sqlite: true });
	await ensureSqliteBinary(tools);
	stopProgress();
	log(`Node 24 and n8n ${toolchain.N8N_VERSION} ready in ${toolchain.cacheRoot()}`);

	const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
	const packed = args.tarball
		? { tarball: path.resolve(String(args.tarball)), name: pkg.name, version: pkg.version }
		: await packPackage({ packageDir: REPO, build: !args['no-build'] });
	if (!args.tarball) proc.onExit(() => fs.rmSync(path.dirname(packed.tarball), { recursive: true, force: true }));

	services = await startFakeServices();
	log(`fake CRM on ${services.crm.url} (GET /contacts lists what was written), fake Slack on ${services.slack.url}`);

	const port = await choosePort(wantedPort, listen);
	if (wantedPort && port !== wantedPort) log(`port ${wantedPort} is taken: n8n will listen on ${port}`);
	const workflows = [leadIntake(services, store), demoStats(store)];
	userFolder = newUserFolder();
	n8n = await startDemoN8n({ userFolder, toolchain: tools, packed, credentials: store.credential ? [store.credential] : [], workflows, port, listen, log });
	log(`n8n is up with the lead-intake workflow published (${((Date.now() - t0) / 1000).toFixed(0)} s since start)`);

	// The first use of a store opens it (embedded: PGlite creates its Postgres data folder, some
	// seconds); done here so the storm's timings are the store's, not its set-up.
	const t1 = Date.now();
	await readStore(n8n);
	log(`store opened and migrated in ${((Date.now() - t1) / 1000).toFixed(1)} s (its first use, through the stats workflow)`);
	await waitForSteadyDatabase(n8n);

	log('firing the storm at the lead-intake webhook');
	const rows = await fireStorm({ webhookUrl: `${n8n.localUrl}/webhook/${LEAD_PATH}`, services, runId, log });
	const readout = await readStore(n8n);
	const summary = summarise({ rows, services, storeReadout: readout, store });
	process.stdout.write(renderTable(summary) + '\n');

	if (args.json) process.stdout.write(JSON.stringify({ demo: 'n8n-nodes-idempotency', ...summary, n8n: { url: n8n.publicUrl, port: n8n.port } }) + '\n');

	exitCode = summary.ok ? 0 : 1;
	if (args.once) {
		await shutdown();
		return exitCode;
	}

	const { email, password } = n8n.owner;
	process.stderr.write(
		[
			'',
			`  n8n is running at ${n8n.publicUrl}`,
			`  log in with  ${email}  /  ${password}`,
			'',
			`  Open "${workflows[0].name}" → Executions to see every delivery of the storm.`,
			'  Send your own:',
			`    curl -s -X POST ${n8n.publicUrl}/webhook/${LEAD_PATH} -H 'content-type: application/json' \\`,
			`         -d '{"email":"you@example.com","name":"You","source":"curl","submissionId":"1"}'`,
			`  The store's numbers:  curl -s ${n8n.publicUrl}/webhook/${STATS_PATH}`,
			`  What the CRM got:     curl -s ${services.crm.url}/contacts`,
			`  n8n's log:            ${n8n.logFile}`,
			'',
			'  Ctrl-C stops n8n and the fake services.',
			'',
		].join('\n'),
	);
	const exit = await n8n.main.exited;
	if (stopping) return new Promise(() => undefined); // the signal handler exits
	log(`n8n exited on its own (${exit.code ?? exit.signal}); last lines of its log:\n${tail(n8n.logFile)}`);
	await shutdown({ keep: true });
	return 1;
}

main().then(
	(code) => process.exit(code),
	async (err) => {
		log(`the demo failed: ${err && err.stack ? err.stack : err}`);
		if (userFolder) log(`last lines of n8n's log:\n${tail(path.join(userFolder, 'n8n.log'))}`);
		await shutdown({ keep: true });
		process.exit(1);
	},
);
