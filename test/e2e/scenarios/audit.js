// The idempotency audit in a real n8n (README "Audit your workflows"): an n8n holding a
// workflow with a planted hazard — a webhook that creates an invoice with an HTTP POST and no
// Guard — published, then its draft fixed but not published. An API key is created the way the
// editor does (Settings → n8n API: POST /rest/api-keys with the owner's session, scopes
// workflow:list + workflow:read). Then both ways of auditing read the instance's own workflows:
// examples/idempotency-audit.json (n8n node Get Many Workflows → Idempotency Audit → Slack) run
// by `n8n execute`, its Slack message counted at the fake Slack; and the command the package
// ships (`n8n-nodes-idempotency audit --n8n-url`), run from the installed package under the
// machine's Node. Both must name the planted node; both must have read the published version.
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const { prepareWorkflow, loadExample, shortId } = require('../lib/workflows');
const { run } = require('../lib/proc');

const PLANTED_NODE = 'Create invoice in billing';
const CREDENTIAL = { id: 'n8nApiThisInstance', name: 'n8n API (this instance)', type: 'n8nApi' };

// The hazard: every redelivery of the webhook creates one more invoice.
function hazardWorkflow(services) {
	return {
		id: shortId(),
		name: 'Invoice webhook (planted hazard)',
		nodes: [
			{
				id: 'e2e-hazard-1',
				name: 'Invoice event',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: require('crypto').randomUUID(),
				parameters: { httpMethod: 'POST', path: `audit-hazard-${shortId()}`, options: {} },
			},
			{
				id: 'e2e-hazard-2',
				name: PLANTED_NODE,
				type: 'n8n-nodes-base.httpRequest',
				typeVersion: 4.2,
				position: [260, 0],
				parameters: {
					method: 'POST',
					url: `${services.billing.url}/invoices`,
					sendBody: true,
					specifyBody: 'json',
					jsonBody: '={{ JSON.stringify({ orderId: $json.body.orderId, amount: $json.body.amount }) }}',
					options: {},
				},
			},
		],
		connections: { 'Invoice event': { main: [[{ node: PLANTED_NODE, type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

async function freePort() {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
		server.on('error', reject);
	});
}

function ok(res, what) {
	assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${res.text.slice(0, 400)}`);
	return res.json && 'data' in res.json ? res.json.data : res.json;
}

module.exports = {
	name: 'audit',
	async run(ctx) {
		const { services } = ctx;
		const hazard = hazardWorkflow(services);
		const audit = prepareWorkflow(loadExample('idempotency-audit'), { services });
		const n8n = await ctx.startN8n({
			packed: ctx.packed,
			// the example's credential, filled in once the API key exists
			credentials: [{ ...CREDENTIAL, data: { apiKey: 'not-yet', baseUrl: 'http://127.0.0.1:9/api/v1' } }],
			workflows: [hazard, audit],
			publish: false,
		});

		let apiKey;
		await ctx.test('an API key is created with the owner session (workflow:list, workflow:read)', async () => {
			const created = ok(
				await n8n.rest('/rest/api-keys', { method: 'POST', body: { label: 'idempotency audit', scopes: ['workflow:list', 'workflow:read'], expiresAt: null } }),
				'POST /rest/api-keys',
			);
			apiKey = created.rawApiKey;
			assert.ok(typeof apiKey === 'string' && apiKey.length > 20, 'no rawApiKey in the answer');
			ok(
				await n8n.rest(`/rest/credentials/${CREDENTIAL.id}`, {
					method: 'PATCH',
					body: { name: CREDENTIAL.name, type: CREDENTIAL.type, data: { apiKey, baseUrl: `${n8n.baseUrl}/api/v1` } },
				}),
				'PATCH the n8n API credential',
			);
		});
		if (!apiKey) return;

		let publishedVersion;
		await ctx.test('the hazard is published, then fixed in a draft that is not published', async () => {
			const wf = ok(await n8n.rest(`/rest/workflows/${hazard.id}`), 'GET the hazard workflow');
			publishedVersion = wf.versionId;
			ok(await n8n.rest(`/rest/workflows/${hazard.id}/activate`, { method: 'POST', body: { versionId: publishedVersion } }), 'publish');
			// the draft drops the write: only the published version still has the hazard
			const draft = {
				name: wf.name,
				nodes: wf.nodes.filter((n) => n.name !== PLANTED_NODE),
				connections: {},
				settings: wf.settings,
				versionId: publishedVersion,
			};
			const saved = ok(await n8n.rest(`/rest/workflows/${hazard.id}`, { method: 'PATCH', body: draft }), 'save the draft');
			assert.notEqual(saved.versionId, publishedVersion, 'saving the draft made no new version');
			const before = services.billing.writeCount();
			// n8n registers a published webhook asynchronously: until then it answers 404 and runs nothing
			let res = await n8n.webhook(hazard.nodes[0].parameters.path, { orderId: 'o-1', amount: 10 });
			for (let i = 0; i < 100 && res.status === 404; i++) {
				await new Promise((r) => setTimeout(r, 200));
				res = await n8n.webhook(hazard.nodes[0].parameters.path, { orderId: 'o-1', amount: 10 });
			}
			assert.equal(res.status, 200, `the published webhook answers: ${res.text}`);
			// the webhook answers on receipt; the write follows
			for (let i = 0; i < 100 && services.billing.writeCount() === before; i++) await new Promise((r) => setTimeout(r, 100));
			assert.equal(services.billing.writeCount(), before + 1, 'the published version (with the write) is what runs');
		});

		await ctx.test('the example audit workflow (n8n node → Idempotency Audit → Slack) reports the planted hazard', async () => {
			services.slack.reset();
			// `n8n execute` runs the workflow in its own process, next to the running n8n: its
			// task runner broker needs a port of its own
			const env = { ...n8n.env, N8N_RUNNERS_BROKER_PORT: String(await freePort()) };
			const out = await run(n8n.toolchain.node.bin, [n8n.toolchain.n8n.bin, 'execute', `--id=${audit.id}`, '--rawOutput'], {
				cwd: n8n.userFolder,
				env,
				label: 'n8n execute (audit example)',
				timeoutMs: 180_000,
			});
			assert.ok(!out.includes(apiKey), 'the API key is in the execution output');
			assert.equal(services.slack.messages.length, 1, `one Slack message, got ${services.slack.messages.length}`);
			const message = services.slack.messages[0];
			const blocks = JSON.stringify(message.blocks);
			assert.match(message.text, /can write twice/, message.text);
			assert.ok(blocks.includes(PLANTED_NODE), `the Slack message does not name "${PLANTED_NODE}": ${blocks.slice(0, 1500)}`);
			assert.ok(blocks.includes('unguarded-write'), 'the Slack message does not name the rule unguarded-write');
			assert.ok(blocks.includes(hazard.name), 'the Slack message does not name the workflow');
		});

		await ctx.test('the shipped command `audit --n8n-url` reports the planted hazard from the published version', async () => {
			// installed from the packed tarball as `npx n8n-nodes-idempotency` installs it (with
			// its peer n8n-workflow), run through its bin link with the machine's Node (20 here)
			const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-audit-cli-'));
			ctx.onCleanup(() => fs.rmSync(prefix, { recursive: true, force: true }));
			fs.writeFileSync(path.join(prefix, 'package.json'), '{ "name": "audit-cli-user", "private": true }');
			await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ctx.packed.tarball], { cwd: prefix, label: 'npm install (the command)' });
			const bin = path.join(prefix, 'node_modules', '.bin', 'n8n-nodes-idempotency');
			assert.ok(fs.statSync(bin).mode & 0o111, `${bin} is not executable`);
			assert.match(fs.readFileSync(bin, 'utf8').split('\n')[0], /^#!\/usr\/bin\/env node/);
			const PATH = `${path.dirname(process.execPath)}:${process.env.PATH}`;
			// the key from the environment, as CI would pass a secret
			const cli = (args) =>
				spawnSync(bin, ['audit', '--n8n-url', n8n.baseUrl, ...args], { env: { PATH, N8N_API_KEY: apiKey }, encoding: 'utf8', timeout: 60_000 });
			const json = cli(['--json']);
			assert.equal(json.status, 1, `exit ${json.status} (1: a must finding); stderr: ${json.stderr}`);
			const report = JSON.parse(json.stdout);
			const entry = report.workflows.find((w) => w.id === hazard.id);
			assert.ok(entry, `the hazard workflow is not in the report: ${report.workflows.map((w) => w.name)}`);
			assert.equal(entry.read, 'published');
			assert.equal(entry.versionId, publishedVersion);
			assert.match(entry.versionNote ?? '', /draft .* not published/);
			const finding = entry.findings.find((f) => f.node === PLANTED_NODE);
			assert.ok(finding, `no finding on "${PLANTED_NODE}": ${JSON.stringify(entry.findings)}`);
			assert.deepEqual([finding.rule, finding.severity], ['unguarded-write', 'must']);
			assert.ok(report.workflows.some((w) => w.id === audit.id), 'the audit example itself was not read');

			const draft = cli(['--json', '--draft']);
			const drafted = JSON.parse(draft.stdout).workflows.find((w) => w.id === hazard.id);
			assert.equal(drafted.read, 'draft');
			assert.ok(!drafted.findings.some((f) => f.node === PLANTED_NODE), 'the draft has no such node any more');

			const terminal = cli([]);
			assert.equal(terminal.status, 1);
			assert.match(terminal.stdout, new RegExp(`MUST +unguarded-write · ${PLANTED_NODE}`));
			assert.match(terminal.stdout, /read +published version/);
			for (const r of [json, draft, terminal]) assert.ok(!(r.stdout + r.stderr).includes(apiKey), 'the API key was printed');

			const refused = spawnSync(bin, ['audit', '--n8n-url', n8n.baseUrl, '--api-key', 'wrong-key'], { env: { PATH }, encoding: 'utf8', timeout: 60_000 });
			assert.equal(refused.status, 2, `a refused key exits 2: ${refused.stdout}${refused.stderr}`);
			assert.match(refused.stderr, /refused the API key \(401\)/);
			assert.ok(!refused.stderr.includes('wrong-key'));
		});
	},
};
