#!/usr/bin/env node
// Benchmark in a real n8n (issue "Benchmarks", part 4): one execution of N items (default 10k)
// through the Idempotency Guard vs through n8n's built-in Remove Duplicates node (v2, operation
// "Remove Items Processed in Previous Executions", logic "Value Is New"), with 10k and 100k keys
// of history stored beforehand by earlier executions of the same workflow; and the Guard's
// overhead on a one-item webhook execution vs the same workflow without the Guard.
//
// Uses the e2e harness (test/e2e): Node 24 + n8n 2.41.1 from the cache, the package packed and
// installed the community way. The package is built and packed from a temporary copy of the
// repo, so dist/ of the working tree is left alone.
//
//   node test/bench/n8n/run.js [--items=10000] [--histories=10000,100000] [--runs=3]
//                              [--requests=200] [--no-redis] [--guard-key=both|fields|expression]
//                              [--json=out.json]
//
// Workflows: Webhook (responds when the last node is done) → Code "Make items" (body.n items
// { key: `${body.prefix}-${i}` }) → Guard | Remove Duplicates. The Guard's parameters are left at
// their defaults (namespace ={{ $workflow.id }}, no fingerprint, no options) except its key, which
// comes two ways, both in the same run: Key Fields = key ("fields") and Key = {{ $json.key }}
// ("expression", like Remove Duplicates' Value to Dedupe On). The dedupe node's own time is
// n8n's executionTime of that node (from the saved execution); the execution time is
// stoppedAt − startedAt; "round trip" is the client's HTTP time. Measured runs use fresh keys,
// so every run adds N keys to the history of both contenders alike (noted in the output).
// Everything it creates (n8n, its database, the store schema, Redis keys) is removed at exit.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const E2E = path.resolve(__dirname, '..', '..', 'e2e');
const { log, runExitHooks, onExit, run } = require(path.join(E2E, 'lib', 'proc'));
const { packPackage, REPO } = require(path.join(E2E, 'lib', 'community-install'));
const { startN8n } = require(path.join(E2E, 'n8n-runtime'));
const { ensureToolchain } = require(path.join(E2E, 'lib', 'toolchain'));
const { psql, REDIS } = require(path.join(E2E, 'lib', 'databases'));
const { shortId } = require(path.join(E2E, 'lib', 'workflows'));

const args = Object.fromEntries(
	process.argv.slice(2).map((a) => {
		const [k, v] = a.replace(/^--/, '').split('=');
		return [k, v ?? true];
	}),
);
const ITEMS = Number(args.items || 10_000);
const HISTORIES = String(args.histories || '10000,100000').split(',').map(Number);
const RUNS = Number(args.runs || 3);
const REQUESTS = Number(args.requests || 200);
const WITH_REDIS = !args['no-redis'];
// how the batch Guards get their key: both ways by default, each its own contender
const GUARD_KEYS = args['guard-key'] === 'fields' || args['guard-key'] === 'expression' ? [args['guard-key']] : ['fields', 'expression'];

const runId = crypto.randomBytes(4).toString('hex');
const SCHEMA = `bench_n8n_${runId}`;
const KEY_PREFIX = `bench-n8n-${runId}:`;
const PKG = 'n8n-nodes-idempotency';
const CRED = {
	postgres: { id: 'benchStorePostgres', name: 'Bench Store (Postgres)', type: 'idempotencyPostgresApi' },
	redis: { id: 'benchStoreRedis', name: 'Bench Store (Redis)', type: 'idempotencyRedisApi' },
};

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	const m = s.length >> 1;
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pct = (xs, p) => {
	const s = [...xs].sort((a, b) => a - b);
	return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

// ---------- workflows ----------

let nodeSeq = 0;
const uuid = () => crypto.randomUUID();
function node(name, type, typeVersion, parameters, extra = {}) {
	return { id: uuid(), name, type, typeVersion, position: [240 * nodeSeq++, 0], parameters, ...extra };
}
function webhookNode(p, responseData) {
	return node('Webhook', 'n8n-nodes-base.webhook', 2.1, { httpMethod: 'POST', path: p, responseMode: 'lastNode', responseData, options: {} }, { webhookId: uuid() });
}
function chain(names) {
	const c = {};
	for (let i = 0; i + 1 < names.length; i++) c[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	return c;
}
function workflow(name, nodes) {
	nodeSeq = 0;
	return { id: shortId(), name, nodes, connections: chain(nodes.map((n) => n.name)), settings: { executionOrder: 'v1' } };
}
// Only the store and the key are set: everything else (the namespace ={{ $workflow.id }} above
// all) is left to the node's defaults, as a user who adds the node and picks a key has it.
function guardNode(store, keyParams) {
	return node(
		'Dedupe',
		`${PKG}.idempotencyGuard`,
		1,
		{ store, ...keyParams },
		{ credentials: { [CRED[store].type]: { id: CRED[store].id, name: CRED[store].name } } },
	);
}
function removeDuplicatesNode() {
	return node('Dedupe', 'n8n-nodes-base.removeDuplicates', 2, {
		operation: 'removeItemsSeenInPreviousExecutions',
		logic: 'removeItemsWithAlreadySeenKeyValues',
		dedupeValue: '={{ $json.key }}',
		// the default 10000 cannot hold 100k keys; n8n also refuses to run when history + input > historySize
		options: { historySize: 1_000_000 },
	});
}
const MAKE_ITEMS = `const { prefix, n } = $input.first().json.body;
const out = new Array(n);
for (let i = 0; i < n; i++) out[i] = { json: { key: prefix + '-' + i } };
return out;`;

function batchWorkflow(kind, history) {
	const p = `bench-${kind}-${history}-${runId}`;
	nodeSeq = 0;
	const nodes = [
		webhookNode(p, 'noData'),
		node('Make items', 'n8n-nodes-base.code', 2, { jsCode: MAKE_ITEMS }),
		kind === 'removeDuplicates' ? removeDuplicatesNode() : guardNode(kind.split('-')[1], kind.endsWith('-fields') ? { keySource: 'fields', keyFields: 'key' } : { keySource: 'expression', key: '={{ $json.key }}' }),
	];
	const wf = workflow(`bench ${kind} h${history}`, nodes);
	return { wf, path: p, kind, history };
}
function oneItemWorkflow(kind) {
	const p = `bench-one-${kind}-${runId}`;
	nodeSeq = 0;
	const nodes = [webhookNode(p, 'firstEntryJson')];
	if (kind !== 'plain') nodes.push(guardNode(kind.replace('guard-', ''), { keySource: 'expression', key: '={{ $json.body.id }}' }));
	nodes.push(node('Done', 'n8n-nodes-base.noOp', 1, {}));
	return { wf: workflow(`bench one ${kind}`, nodes), path: p, kind };
}

// ---------- measuring ----------

let flatted;
async function lastExecution(n8n, wfId, afterId) {
	const filter = encodeURIComponent(JSON.stringify({ workflowId: wfId }));
	for (let i = 0; i < 400; i++) {
		const list = await n8n.rest(`/rest/executions?filter=${filter}&limit=1`);
		const s = list.json?.data?.results?.[0];
		if (s && Number(s.id) > afterId && s.stoppedAt && s.status !== 'running' && s.status !== 'new') {
			const one = await n8n.rest(`/rest/executions/${s.id}`);
			const e = one.json.data;
			return { id: Number(s.id), status: e.status, startedAt: e.startedAt, stoppedAt: e.stoppedAt, runData: flatted.parse(e.data).resultData.runData, error: flatted.parse(e.data).resultData.error };
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`no finished execution of ${wfId} after ${afterId}`);
}

const lastIds = new Map();
async function runBatch(n8n, b, prefix, n) {
	const t0 = process.hrtime.bigint();
	const res = await n8n.webhook(b.path, { prefix, n }, { timeoutMs: 600_000 });
	const roundTrip = Number(process.hrtime.bigint() - t0) / 1e6;
	if (res.status !== 200) {
		// n8n answers "Error in workflow": the saved execution says what failed
		const failed = await lastExecution(n8n, b.wf.id, lastIds.get(b.wf.id) || 0).catch(() => null);
		if (failed) lastIds.set(b.wf.id, failed.id);
		const why = failed?.error ? `${failed.error.message}${failed.error.description ? ` (${failed.error.description})` : ''}` : '';
		throw new Error(`${b.wf.name}: HTTP ${res.status} ${res.text.slice(0, 300)} ${why}`);
	}
	const ex = await lastExecution(n8n, b.wf.id, lastIds.get(b.wf.id) || 0);
	lastIds.set(b.wf.id, ex.id);
	if (ex.status !== 'success') throw new Error(`${b.wf.name}: execution ${ex.id} ${ex.status}: ${ex.error?.message}`);
	const d = ex.runData.Dedupe[0];
	const outs = (d.data?.main || []).map((o) => (o ? o.length : 0));
	return {
		roundTrip,
		execution: new Date(ex.stoppedAt) - new Date(ex.startedAt),
		node: d.executionTime,
		makeItems: ex.runData['Make items'][0].executionTime,
		outs,
	};
}

async function main() {
	const started = Date.now();
	const toolchain = await ensureToolchain({});
	flatted = require(path.join(toolchain.n8n.dir, 'node_modules', 'flatted'));

	// build + pack a temporary copy: the working tree's dist/ is not touched
	const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-n8n-src-'));
	onExit(() => fs.rmSync(copy, { recursive: true, force: true }));
	await run('tar', ['-C', REPO, '--exclude=./node_modules', '--exclude=./dist', '--exclude=./.git', '-cf', path.join(copy, 'src.tar'), '.'], { label: 'copy repo' });
	await run('tar', ['-C', copy, '-xf', path.join(copy, 'src.tar')], { label: 'untar' });
	fs.rmSync(path.join(copy, 'src.tar'));
	fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(copy, 'node_modules'));
	const packed = await packPackage({ packageDir: copy, build: true });

	const cleanupStores = () => {
		try {
			psql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`, 'test');
		} catch (err) {
			log(`could not drop schema ${SCHEMA}: ${err.message}`);
		}
		// deleteRedisKeys reads the key list into one 1 MB buffer: too small for 200k+ keys
		let n = 0;
		try {
			const cli = `redis-cli -h ${REDIS.host} -p ${REDIS.port}`;
			const list = path.join(os.tmpdir(), `bench-n8n-${runId}.keys`);
			n = Number(execFileSync('sh', ['-c', `${cli} --scan --pattern '${KEY_PREFIX}*' > ${list}; xargs -r -n 500 ${cli} DEL < ${list} > /dev/null; wc -l < ${list}; rm -f ${list}`], { encoding: 'utf8' }).trim());
		} catch (err) {
			log(`could not delete Redis keys ${KEY_PREFIX}*: ${err.message}`);
		}
		log(`cleanup: dropped schema test.${SCHEMA}, deleted ${n} Redis keys ${KEY_PREFIX}*`);
	};
	let cleaned = false;
	onExit(() => {
		if (!cleaned) cleanupStores();
		cleaned = true;
	});

	const credentials = [
		{ ...CRED.postgres, data: { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', password: '', ssl: 'disable', schema: SCHEMA, maxConnections: 10 } },
		{ ...CRED.redis, data: { host: '127.0.0.1', port: 6379, username: '', password: '', database: 0, tls: false, keyPrefix: KEY_PREFIX, mode: 'standalone', allowNoPersistence: true } },
	];
	const stores = ['postgres', ...(WITH_REDIS ? ['redis'] : [])];
	const kinds = [...stores.flatMap((store) => GUARD_KEYS.map((key) => `guard-${store}-${key}`)), 'removeDuplicates'];
	const batches = HISTORIES.flatMap((h) => kinds.map((k) => batchWorkflow(k, h)));
	const ones = REQUESTS <= 0 ? [] : ['plain', 'guard-postgres', ...(WITH_REDIS ? ['guard-redis'] : [])].map(oneItemWorkflow);

	const n8n = await startN8n({ db: 'postgres', packed, credentials, workflows: [...batches, ...ones].map((b) => b.wf), toolchain });
	onExit(() => {}); // n8n's own cleanup is registered by startN8n
	try {
		// ---- history ----
		for (const b of batches) {
			const t0 = Date.now();
			for (let i = 0; i * ITEMS < b.history; i++) {
				const n = Math.min(ITEMS, b.history - i * ITEMS);
				const r = await runBatch(n8n, b, `hist-${i}`, n);
				if (r.outs[0] !== n) throw new Error(`${b.wf.name}: history batch ${i}: ${r.outs} (expected ${n} new)`);
			}
			log(`history: ${b.kind} ${b.history} keys stored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
		}
		// ---- measured: fresh keys, then all-duplicate keys; contenders interleaved ----
		const results = [];
		for (const h of HISTORIES) {
			for (let r = 0; r < RUNS; r++) {
				for (const b of batches.filter((x) => x.history === h)) {
					const m = await runBatch(n8n, b, `run-${r}`, ITEMS);
					if (m.outs[0] !== ITEMS) throw new Error(`${b.wf.name}: fresh run ${r}: outputs ${m.outs}`);
					results.push({ case: 'fresh', kind: b.kind, history: h, historyAtStart: h + r * ITEMS, run: r, ...m });
					log(`h=${h} fresh run ${r} ${b.kind}: node ${m.node} ms, execution ${m.execution} ms, round trip ${m.roundTrip.toFixed(0)} ms, outputs ${m.outs}`);
				}
			}
			for (let r = 0; r < RUNS; r++) {
				for (const b of batches.filter((x) => x.history === h)) {
					const m = await runBatch(n8n, b, 'hist-0', Math.min(ITEMS, h));
					if (m.outs[0] !== 0) throw new Error(`${b.wf.name}: duplicate run ${r}: outputs ${m.outs}`);
					results.push({ case: 'duplicates', kind: b.kind, history: h, run: r, ...m });
					log(`h=${h} dup run ${r} ${b.kind}: node ${m.node} ms, execution ${m.execution} ms, round trip ${m.roundTrip.toFixed(0)} ms, outputs ${m.outs}`);
				}
			}
		}
		// ---- one-item overhead: interleaved, fresh key per request ----
		const one = Object.fromEntries(ones.map((o) => [o.kind, []]));
		for (let i = 0; i < REQUESTS + 20; i++) {
			for (const o of ones) {
				const t0 = process.hrtime.bigint();
				const res = await n8n.webhook(o.path, { id: `one-${i}-${uuid()}` });
				const ms = Number(process.hrtime.bigint() - t0) / 1e6;
				if (res.status !== 200) throw new Error(`${o.wf.name}: HTTP ${res.status} ${res.text.slice(0, 200)}`);
				if (o.kind !== 'plain' && res.json?._idempotency?.outcome !== 'new') throw new Error(`${o.wf.name}: not new: ${res.text.slice(0, 200)}`);
				if (i >= 20) one[o.kind].push(ms); // 20 warm-up rounds
			}
		}

		// ---- report ----
		const agg = (kind, h, c, f) => median(results.filter((x) => x.kind === kind && x.history === h && x.case === c).map(f));
		const lines = [];
		lines.push(`n8n ${path.basename(toolchain.n8n.dir)}, Node ${execFileSync(toolchain.node.bin, ['-v'], { encoding: 'utf8' }).trim()}, ${os.cpus().length} CPU(s); ${ITEMS} items per execution, median of ${RUNS} runs; Guard parameters at their defaults (namespace ={{ $workflow.id }}) but the key: *-fields = Key Fields "key", *-expression = Key ={{ $json.key }}`);
		lines.push('');
		lines.push('| case | history | contender | dedupe node (ms) | execution (ms) | round trip (ms) | RD node ÷ this node | RD execution ÷ this execution |');
		lines.push('|---|---:|---|---:|---:|---:|---:|---:|');
		for (const c of ['fresh', 'duplicates']) {
			for (const h of HISTORIES) {
				const rdNode = agg('removeDuplicates', h, c, (x) => x.node);
				const rdExec = agg('removeDuplicates', h, c, (x) => x.execution);
				for (const k of kinds) {
					const nd = agg(k, h, c, (x) => x.node);
					const ex = agg(k, h, c, (x) => x.execution);
					const rt = agg(k, h, c, (x) => x.roundTrip);
					const ratio = k === 'removeDuplicates' ? '—' : `${(rdNode / nd).toFixed(2)}×`;
					const ratioEx = k === 'removeDuplicates' ? '—' : `${(rdExec / ex).toFixed(2)}×`;
					lines.push(`| ${c === 'fresh' ? `${ITEMS} new keys` : `${Math.min(ITEMS, h)} stored keys`} | ${h / 1000}k | ${k} | ${nd.toFixed(0)} | ${ex.toFixed(0)} | ${rt.toFixed(0)} | ${ratio} | ${ratioEx} |`);
				}
			}
		}
		if (ones.length) {
			lines.push('');
			lines.push(`One-item webhook execution, client round trip, ${REQUESTS} requests each (interleaved, after 20 warm-up rounds):`);
			lines.push('');
			lines.push('| workflow | median (ms) | p90 (ms) | Guard overhead vs plain (median) |');
			lines.push('|---|---:|---:|---:|');
			const plain = ones.length ? median(one.plain) : 0;
			for (const o of ones) {
				const m = median(one[o.kind]);
				lines.push(`| ${o.kind === 'plain' ? 'Webhook → NoOp' : `Webhook → Guard (${o.kind.replace('guard-', '')}) → NoOp`} | ${m.toFixed(2)} | ${pct(one[o.kind], 90).toFixed(2)} | ${o.kind === 'plain' ? '—' : `${(m - plain).toFixed(2)} ms`} |`);
			}
		}
		lines.push('');
		lines.push(`Wall time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
		const report = lines.join('\n');
		console.log(`\n${report}\n`);
		if (args.json) fs.writeFileSync(String(args.json), JSON.stringify({ items: ITEMS, runs: RUNS, results, one }, null, 2));
	} finally {
		await n8n.stop();
		cleanupStores();
		cleaned = true;
	}
}

main().then(
	() => {
		runExitHooks();
		process.exit(0);
	},
	(err) => {
		console.error(err && err.stack ? err.stack : err);
		runExitHooks();
		process.exit(1);
	},
);
