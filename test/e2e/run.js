#!/usr/bin/env node
// Entry of `npm run test:e2e`: installs what the cache lacks, builds and packs the package,
// proves the harness with the smoke scenario, then — once the Idempotency Guard is built — runs
// every test/e2e/scenarios/*.js: first those that share one n8n, then those that start their
// own (queue mode, n8n 1.123). Ends with the line `N passed, N failed`; exits non-zero on any
// failure.
//
// Options (flags or environment):
//   --only=<text>        run only scenarios whose name contains <text> (the smoke always runs)
//   --smoke-only         run only the smoke scenario
//   --db=postgres|sqlite n8n's own database (E2E_N8N_DB; default postgres)
//   E2E_PACKAGE_DIR      pack this folder instead of the repo (E2E_SKIP_BUILD=1 skips `npm run build`)
//   E2E_KEEP=1           keep user folders and databases for inspection
//   IDEMPOTENCY_E2E_CACHE where Node 24 and n8n are cached (default ~/.cache/n8n-nodes-idempotency)
//   IDEMPOTENCY_E2E_N8N1_VERSION the n8n 1.x of the second run (default 1.123.81)
'use strict';

const fs = require('fs');
const path = require('path');
const { log, killAllNow, runExitHooks } = require('./lib/proc');
const { packPackage, REPO } = require('./lib/community-install');
const { startFakeServices } = require('./fake-services');
const { startN8n } = require('./n8n-runtime');
const { ensureToolchain } = require('./lib/toolchain');
const { makeStoreCredentials } = require('./lib/workflows');
const { inspectorWorkflows, inspectorClient } = require('./lib/inspector');

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

// Each scenario gets its own context; every n8n it starts is stopped when it ends. A scenario
// on the shared n8n (see runSharedScenarios) finds it in `shared.n8n`.
async function runScenario(scenario, shared) {
	const started = [];
	const cleanups = [];
	const ctx = {
		...shared,
		db: DB,
		log,
		test: async (name, fn) => {
			const ok = await test(`${scenario.name}: ${name}`, fn);
			if (!ok) await reportExecutionErrors(shared.n8n ? [shared.n8n, ...started] : started);
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
	const t0 = Date.now();
	try {
		if (shared.sharedStartError) throw shared.sharedStartError;
		await scenario.run(ctx);
	} catch (err) {
		// a failure outside a ctx.test (n8n did not start, setup failed) counts as one failed test
		await test(`${scenario.name}: runs to the end`, () => {
			throw err;
		});
	} finally {
		for (const inst of started) await inst.stop().catch((e) => log(`stop failed: ${e.message}`));
		for (const fn of cleanups.reverse()) await Promise.resolve().then(fn).catch((e) => log(`cleanup failed: ${e.message}`));
		log(`--- scenario ${scenario.name} took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	}
}

// Scenarios that declare `workflows(setup)` share one n8n: every workflow they need (their
// variants of the examples, on both stores) is imported and published once, next to the
// key inspector, and the n8n starts once instead of once per scenario. They run in `order`;
// the crash scenario, which kills and restarts that n8n, comes last among them.
async function runSharedScenarios(list, base) {
	const stores = makeStoreCredentials();
	const inspector = inspectorWorkflows();
	const prepared = new Map(list.map((s) => [s, s.workflows({ services: base.services })]));
	const workflows = [...Object.values(inspector), ...[...prepared.values()].flatMap(workflowsIn)];
	let n8n = null;
	let sharedStartError = null;
	log(`--- shared n8n for ${list.map((s) => s.name).join(', ')}`);
	try {
		n8n = await startN8n({ db: DB, packed: base.packed, credentials: stores.credentials, workflows });
	} catch (err) {
		sharedStartError = err;
	}
	try {
		for (const scenario of list) {
			base.services.reset();
			await runScenario(scenario, {
				...base,
				n8n,
				sharedStartError,
				stores,
				workflows: prepared.get(scenario),
				inspector: n8n && inspectorClient(n8n, inspector),
			});
		}
	} finally {
		if (n8n) await n8n.stop().catch((e) => log(`stop failed: ${e.message}`));
		stores.cleanup();
	}
}

// The workflow objects in whatever shape a scenario returned them: a list, or an object whose
// values are workflows or objects of workflows (e.g. { postgres: wf, redis: wf }).
function workflowsIn(value) {
	if (!value || typeof value !== 'object') return [];
	if (Array.isArray(value.nodes)) return [value];
	return Object.values(value).flatMap(workflowsIn);
}

function loadScenarios() {
	const dir = path.join(__dirname, 'scenarios');
	if (!fs.existsSync(dir)) return [];
	return fs
		.readdirSync(dir)
		.filter((f) => f.endsWith('.js'))
		.sort()
		.map((f) => require(path.join(dir, f)))
		.filter((s) => !args.only || s.name.includes(args.only))
		.sort((a, b) => (a.order ?? 50) - (b.order ?? 50));
}

async function main() {
	const t0 = Date.now();
	const packageDir = process.env.E2E_PACKAGE_DIR ? path.resolve(process.env.E2E_PACKAGE_DIR) : REPO;
	// Every install a fresh machine needs, at once (network-bound): Node 24 + n8n 2.x, and what
	// a selected scenario brings (n8n 1.123 for scenarios/n8n-1.js).
	// A failed extra install fails only its scenario, which sees the same rejected promise.
	const extraToolchains = args['smoke-only'] ? [] : loadScenarios().filter((s) => s.toolchain).map((s) => s.toolchain().catch(() => {}));
	await Promise.all([ensureToolchain({ sqlite: DB === 'sqlite' }), ...extraToolchains]);
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
		const scenarios = loadScenarios();
		const onShared = scenarios.filter((s) => typeof s.workflows === 'function');
		if (onShared.length) await runSharedScenarios(onShared, { packed, services });
		for (const scenario of scenarios.filter((s) => !onShared.includes(s))) {
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
