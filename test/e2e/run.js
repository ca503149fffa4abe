#!/usr/bin/env node
// Entry of `npm run test:e2e`: builds and packs the package, proves the harness with the smoke
// scenario, then — once the Idempotency Guard is built — runs every test/e2e/scenarios/*.js.
// Ends with the line `N passed, N failed`; exits non-zero on any failure.
//
// Options (flags or environment):
//   --only=<text>        run only scenarios whose name contains <text> (the smoke always runs)
//   --smoke-only         run only the smoke scenario
//   --db=postgres|sqlite n8n's own database (E2E_N8N_DB; default postgres)
//   E2E_PACKAGE_DIR      pack this folder instead of the repo (E2E_SKIP_BUILD=1 skips `npm run build`)
//   E2E_KEEP=1           keep user folders and databases for inspection
//   IDEMPOTENCY_E2E_CACHE where Node 24 and n8n are cached (default ~/.cache/n8n-nodes-idempotency)
'use strict';

const fs = require('fs');
const path = require('path');
const { log, killAllNow, runExitHooks } = require('./lib/proc');
const { packPackage, REPO } = require('./lib/community-install');
const { startFakeServices } = require('./fake-services');
const { startN8n } = require('./n8n-runtime');
const { ensureToolchain } = require('./lib/toolchain');

const args = Object.fromEntries(
	process.argv.slice(2).map((a) => {
		const [k, v] = a.replace(/^--/, '').split('=');
		return [k, v ?? true];
	}),
);
const DB = args.db || process.env.E2E_N8N_DB || 'postgres';
const GUARD = 'dist/nodes/IdempotencyGuard/IdempotencyGuard.node.js';

const results = [];

async function test(name, fn) {
	const t0 = Date.now();
	try {
		await fn();
		results.push({ name, ok: true });
		log(`PASS ${name} (${Date.now() - t0} ms)`);
		return true;
	} catch (err) {
		results.push({ name, ok: false, err });
		log(`FAIL ${name} (${Date.now() - t0} ms)\n${indent(err && err.stack ? err.stack : String(err))}`);
		return false;
	}
}

// After a failed test: n8n's own account of the executions that failed, so the cause is in
// the output rather than in a user folder that is already deleted.
async function reportExecutionErrors(instances) {
	for (const inst of instances) {
		try {
			for (const e of await inst.executionErrors()) {
				log(`      n8n execution ${e.id} (${e.workflow}) failed in "${e.node}": ${e.message}${e.description ? ` — ${e.description}` : ''}`);
			}
		} catch (err) {
			log(`      (could not read failed executions: ${err.message})`);
		}
	}
}

const indent = (s) => s.split('\n').map((l) => `      ${l}`).join('\n');

// Each scenario gets its own context; every n8n it starts is stopped when it ends.
async function runScenario(scenario, shared) {
	const started = [];
	const cleanups = [];
	const ctx = {
		...shared,
		db: DB,
		log,
		test: async (name, fn) => {
			const ok = await test(`${scenario.name}: ${name}`, fn);
			if (!ok) await reportExecutionErrors(started);
		},
		startN8n: async (opts) => {
			const inst = await startN8n({ db: DB, ...opts });
			started.push(inst);
			return inst;
		},
		// runs after the scenario's n8n instances are stopped (e.g. drop the store's database)
		onCleanup: (fn) => cleanups.push(fn),
	};
	log(`--- scenario ${scenario.name}`);
	try {
		await scenario.run(ctx);
	} catch (err) {
		// a failure outside a ctx.test (n8n did not start, setup failed) counts as one failed test
		await test(`${scenario.name}: runs to the end`, () => {
			throw err;
		});
	} finally {
		for (const inst of started) await inst.stop().catch((e) => log(`stop failed: ${e.message}`));
		for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((e) => log(`cleanup failed: ${e.message}`));
	}
}

function loadScenarios() {
	const dir = path.join(__dirname, 'scenarios');
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((f) => f.endsWith('.js'))
		.sort()
		.map((f) => require(path.join(dir, f)))
		.filter((s) => !args.only || s.name.includes(args.only));
}

async function main() {
	const t0 = Date.now();
	const packageDir = process.env.E2E_PACKAGE_DIR ? path.resolve(process.env.E2E_PACKAGE_DIR) : REPO;
	await ensureToolchain({ sqlite: DB === 'sqlite' });
	const services = await startFakeServices();
	try {
		let packed;
		await test('the package builds and packs', async () => {
			packed = await packPackage({ packageDir, build: !process.env.E2E_SKIP_BUILD });
		});
		if (!packed) return;

		const smoke = require('./smoke');
		await runScenario(smoke, { packed, services });
		if (results.some((r) => !r.ok)) {
			log('the smoke scenario failed: the harness cannot be trusted, scenarios not run');
			return;
		}
		if (args['smoke-only']) return;
		if (!fs.existsSync(path.join(packageDir, GUARD))) {
			log(`${GUARD} is not built yet: only the smoke scenario ran`);
			return;
		}
		for (const scenario of loadScenarios()) {
			services.reset();
			await runScenario(scenario, { packed, services });
		}
	} finally {
		await services.close();
		log(`total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}
}

main()
	.catch((err) => results.push({ name: 'harness', ok: false, err }) && log(`harness error: ${err.stack || err}`))
	.finally(() => {
		killAllNow();
		runExitHooks();
		const passed = results.filter((r) => r.ok).length;
		const failed = results.length - passed;
		for (const r of results.filter((x) => !x.ok)) process.stdout.write(`failed: ${r.name}\n`);
		process.stdout.write(`${passed} passed, ${failed} failed\n`);
		process.exit(failed || passed === 0 ? 1 : 0);
	});
