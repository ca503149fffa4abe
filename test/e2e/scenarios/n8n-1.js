// The second, smaller run: n8n 1.123 (docs/CONTRACT.md §1: the package must work there too) under the
// machine's own Node 20, with its own database on Postgres. The same packed package, installed
// the same community way; n8n must list our nodes, and the lead-intake tests must pass on the
// Postgres store, plus the write-timeout path (the example's IF node and Exception Router).
'use strict';

const assert = require('assert/strict');
const { prepareWorkflow, makeStoreCredentials } = require('../lib/workflows');
const { inspectorWorkflows, inspectorClient } = require('../lib/inspector');
const { ensureToolchainN8n1, N8N1_VERSION } = require('../lib/toolchain');
const { leadIntakeTests } = require('./lead-intake');
const timeout = require('./timeout-after-commit');

const PACKAGE = 'n8n-nodes-idempotency';
let installing = null;
const toolchain = () => (installing ||= ensureToolchainN8n1());
const STORES = ['postgres'];

module.exports = {
	name: `n8n-${N8N1_VERSION}`,
	order: 99,
	toolchain, // installed up front, next to n8n 2.x, on a cold cache
	async run(ctx) {
		const { services } = ctx;
		const n8n1 = await toolchain();
		ctx.log(`n8n ${N8N1_VERSION} under Node ${process.version} (${n8n1.node.bin})`);
		const stores = makeStoreCredentials();
		ctx.onCleanup(stores.cleanup);
		const leadIntake = { postgres: prepareWorkflow('lead-intake', { services, store: 'postgres', pathSuffix: 'postgres-v1' }) };
		const timeoutVariant = timeout.workflows({ services, stores: STORES });
		const inspector = inspectorWorkflows(STORES, '-v1');
		// n8n 1.x keeps its own database on Postgres here: its SQLite add-on would need a build for Node 20
		const n8n = await ctx.startN8n({
			db: 'postgres',
			toolchain: n8n1,
			// n8n 1.123.66 and later evaluate expressions in isolated-vm 6 by default, which has no
			// build for Node 20 (it needs Node >= 22, though n8n 1.123 declares >= 20.19): every
			// n8n command then exits with "Could not initialize the vm expression engine". The
			// legacy engine is what every earlier 1.123.x used.
			env: { N8N_EXPRESSION_ENGINE: 'legacy' },
			packed: ctx.packed,
			credentials: stores.credentials,
			workflows: [...Object.values(leadIntake), ...Object.values(timeoutVariant), ...Object.values(inspector)],
		});

		await ctx.test(`n8n ${N8N1_VERSION} loads the package and lists our node types`, async () => {
			const problems = n8n.logText().split('\n').filter((l) => /Failed to load package|Unrecognized node type|Skipping package/i.test(l));
			assert.deepEqual(problems, [], 'n8n could not load the package');
			const ours = (await n8n.nodeTypes()).filter((t) => t.name.startsWith(`${PACKAGE}.`)).map((t) => t.name);
			for (const name of ['idempotencyGuard', 'stateLedger', 'exceptionRouter']) assert.ok(ours.includes(`${PACKAGE}.${name}`), `${name} not listed; ours: [${ours}]`);
		});

		const ask = inspectorClient(n8n, inspector);
		await leadIntakeTests(ctx, { n8n, workflows: leadIntake, inspector: ask, stores: STORES });
		await timeout.timeoutTests(ctx, { n8n, workflows: timeoutVariant, inspector: ask, stores: STORES });
	},
};
