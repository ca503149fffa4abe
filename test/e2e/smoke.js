// Proves the harness itself: n8n starts on Node 24, our package (as `npm pack` makes it) is
// installed the community way and n8n lists its node and credential types, and a webhook
// workflow of n8n's own nodes answers a real HTTP delivery.
'use strict';

const fs = require('fs');
const path = require('path');
const assert = require('assert/strict');
const { shortId } = require('./lib/workflows');

const PACKAGE = 'n8n-nodes-idempotency';

// The node type name n8n derives from a node file: the package name + the description's name,
// which by our convention is the file's class name with a lower-case first letter.
function typeNameOf(nodeFile) {
	const base = path.basename(nodeFile).replace(/\.node\.js$/, '');
	return `${PACKAGE}.${base[0].toLowerCase()}${base.slice(1)}`;
}

function credentialNameOf(credFile) {
	const base = path.basename(credFile).replace(/\.credentials\.js$/, '');
	return `${base[0].toLowerCase()}${base.slice(1)}`;
}

function pingWorkflow() {
	return {
		id: shortId(),
		name: 'E2E ping',
		nodes: [
			{
				id: 'b1f7a8f2-0000-4000-8000-000000000001',
				name: 'Ping',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: 'b1f7a8f2-0000-4000-8000-0000000000aa',
				parameters: { httpMethod: 'POST', path: 'e2e-ping', responseMode: 'responseNode', options: {} },
			},
			{
				id: 'b1f7a8f2-0000-4000-8000-000000000002',
				name: 'Pong',
				type: 'n8n-nodes-base.respondToWebhook',
				typeVersion: 1.5,
				position: [240, 0],
				parameters: { respondWith: 'json', responseBody: "={{ { pong: $json.body.ping, via: 'n8n' } }}", options: {} },
			},
		],
		connections: { Ping: { main: [[{ node: 'Pong', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
	};
}

module.exports = {
	name: 'smoke',
	async run(ctx) {
		const { packed } = ctx;
		const pkgJson = JSON.parse(fs.readFileSync(path.join(packed.sourceDir, 'package.json'), 'utf8'));
		const expectedNodes = pkgJson.n8n.nodes.filter((f) => packed.files.includes(f)).map(typeNameOf);
		const expectedCreds = pkgJson.n8n.credentials.filter((f) => packed.files.includes(f)).map(credentialNameOf);

		await ctx.test('the packed tarball holds only dist/ and the package metadata', () => {
			const stray = packed.files.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE)/.test(f));
			assert.deepEqual(stray, [], `unexpected files in the tarball: ${stray.join(', ')}`);
			assert.ok(expectedNodes.length > 0, 'the tarball contains none of the node files listed in package.json "n8n.nodes"');
		});

		const n8n = await ctx.startN8n({ packed, workflows: [pingWorkflow()] });

		await ctx.test('the community install has the runtime dependencies and nothing dev-only', () => {
			const dir = path.join(n8n.userFolder, '.n8n', 'nodes', 'node_modules', PACKAGE);
			const installed = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
			for (const field of ['devDependencies', 'peerDependencies', 'optionalDependencies']) assert.equal(installed[field], undefined, `${field} left in package.json`);
			for (const dep of Object.keys(installed.dependencies || {})) assert.ok(fs.existsSync(path.join(dir, 'node_modules', dep)), `runtime dependency ${dep} not installed`);
			for (const devOnly of ['typescript', 'jest', 'n8n-workflow', 'gulp']) assert.ok(!fs.existsSync(path.join(dir, 'node_modules', devOnly)), `${devOnly} was installed`);
		});

		await ctx.test(`n8n lists our node types (${expectedNodes.join(', ')})`, async () => {
			// n8n's own words first: a node file listed in package.json but missing from dist
			// makes n8n skip the whole package ("Failed to load package" + the missing module)
			const problems = n8n
				.logText()
				.split('\n')
				.filter((l, i, all) => /Skipping package|Failed to load package|Unrecognized node type/i.test(l) || /Failed to load package/.test(all[i - 1] || ''));
			assert.deepEqual(problems, [], 'n8n could not load the package');
			const types = await n8n.nodeTypes();
			const ours = types.filter((t) => t.name.startsWith(`${PACKAGE}.`)).map((t) => t.name);
			for (const name of expectedNodes) assert.ok(ours.includes(name), `${name} not listed; ours: [${ours.join(', ')}]`);
		});

		await ctx.test(`n8n lists our credential types (${expectedCreds.join(', ')})`, async () => {
			const res = await n8n.rest('/types/credentials.json');
			assert.equal(res.status, 200);
			const names = res.json.map((c) => c.name);
			for (const name of expectedCreds) assert.ok(names.includes(name), `${name} not listed`);
		});

		await ctx.test('a published webhook workflow of n8n nodes answers at /webhook/<path>', async () => {
			const res = await n8n.webhook('e2e-ping', { ping: 'hello' });
			assert.equal(res.status, 200, res.text);
			assert.deepEqual(res.json, { pong: 'hello', via: 'n8n' });
		});
	},
};
