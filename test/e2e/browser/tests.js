// The browser suite: n8n's editor in Chromium, as a new user meets this package. Each test is
// one thing a person does; the assertions are what they would see (or what the webhook then
// answers). Screenshots go to $E2E_SCREENSHOTS (default: a temp folder); with
// E2E_UPDATE_DOCS=1 the README's two pictures in docs/ are refreshed from them.
'use strict';

const assert = require('assert/strict');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { openEditor } = require('./ui');

const DOCS = path.resolve(__dirname, '..', '..', '..', 'docs');
const STORE_NODES = /^n8n-nodes-idempotency\./;
const NODES = ['Idempotency Guard', 'State Ledger', 'Exception Router'];

function screenshotDir() {
	const dir = process.env.E2E_SCREENSHOTS || path.join(os.tmpdir(), 'n8n-idempotency-screenshots');
	fs.mkdirSync(dir, { recursive: true });
	return dir;
}

async function shoot(ui, name, locator) {
	const file = path.join(screenshotDir(), `${name}.png`);
	await ui.screenshot(file, locator);
	if (process.env.E2E_UPDATE_DOCS && ['guard-panel', 'lead-intake-canvas'].includes(name)) fs.copyFileSync(file, path.join(DOCS, `${name}.png`));
	return file;
}

const storeNodeNames = (wf) => wf.nodes.filter((n) => STORE_NODES.test(n.type)).map((n) => n.name);

/**
 * Opens every store node of the open workflow that n8n flags and lets the panel pick the
 * credential (n8n selects the newest credential of the slot's type when the slot is empty),
 * or picks `credentialName` in the slot. Returns the names it had to fix.
 */
async function chooseCredentials(ui, names, credentialName) {
	const fixed = [];
	for (const name of names) {
		await ui.openNode(name);
		let selected = await ui.selectedCredential();
		if (!selected.includes(credentialName)) {
			await ui.page.locator('[data-test-id=ndv] [data-test-id=node-credentials-select]').first().click();
			await ui.page.locator('[role=option]:visible, .el-select-dropdown__item:visible').filter({ hasText: credentialName }).first().click();
			selected = await ui.selectedCredential();
			fixed.push(name);
		}
		assert.match(selected, new RegExp(credentialName.replace(/[()]/g, '\\$&')), `${name}: credential in the panel`);
		await ui.closeNode();
	}
	return fixed;
}

/** The canvas boxes (node and its label) that overlap, as "A / B" pairs. */
async function overlaps(ui) {
	const boxes = await ui.page.$$eval('[data-test-id=canvas-node]', (nodes) =>
		nodes.map((n) => {
			const rects = [n, ...n.querySelectorAll('*')].map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0 && r.height > 0);
			const box = rects.reduce(
				(a, r) => ({ left: Math.min(a.left, r.left), top: Math.min(a.top, r.top), right: Math.max(a.right, r.right), bottom: Math.max(a.bottom, r.bottom) }),
				{ left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity },
			);
			// the handles and "+" buttons stick out sideways; a label overlapping another node is what matters
			const own = n.getBoundingClientRect();
			return { name: n.getAttribute('data-node-name'), left: own.left, right: own.right, top: own.top, bottom: box.bottom };
		}),
	);
	const pairs = [];
	for (let i = 0; i < boxes.length; i++) {
		for (let j = i + 1; j < boxes.length; j++) {
			const a = boxes[i];
			const b = boxes[j];
			if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) pairs.push(`${a.name} / ${b.name}`);
		}
	}
	return pairs;
}

/**
 * The open panel's output after a run, in the JSON view, with the hints above it; `branch`
 * picks an output (New, Duplicate, Ambiguous) when the node has several.
 */
async function outputJson(ui, branch) {
	const panel = ui.page.locator('[data-test-id=output-panel]');
	// the run is drawn: a display-mode switch, or (an empty first branch) the branch tabs
	await panel.locator('[data-test-id=ndv-run-data-display-mode]').or(panel.getByText(/Branch/)).first().waitFor({ timeout: 30_000 }).catch(() => {});
	if (branch) await panel.getByText(new RegExp(`^${branch}`)).first().click({ timeout: 5_000 }).catch(() => {});
	const json = panel.locator('[data-test-id=radio-button-json]').first();
	if ((await json.isVisible().catch(() => false)) && (await json.getAttribute('aria-checked')) !== 'true') await json.click({ timeout: 5_000 }).catch(() => {});
	// the JSON view renders a moment after the run
	let text = '';
	for (let i = 0; i < 60 && !/_idempotency/.test(text); i++) {
		await ui.page.waitForTimeout(250);
		text = await panel.innerText();
	}
	return text;
}

async function browserTests(ctx, n8n, setup) {
	const { services } = ctx;
	const pgName = setup.credentials.find((c) => c.type === 'idempotencyPostgresApi').name;
	const redisName = setup.credentials.find((c) => c.type === 'idempotencyRedisApi').name;
	const { leadIntake, panels } = setup.workflows;
	let ui;
	await ctx.test('the editor opens in Chromium and logs in', async () => {
		ui = await openEditor(n8n.baseUrl);
	});
	if (!ui) return;
	ctx.onCleanup(() => ui.close());

	await ctx.test('"idempotency" in the node panel finds all three nodes', async () => {
		await ui.openWorkflow(panels.id);
		await ui.page.click('[data-test-id=node-creator-plus-button]');
		await ui.page.locator('[data-test-id=node-creator-search-bar] input, [data-test-id=node-creator-search-bar]').first().fill('idempotency');
		await ui.page.waitForTimeout(800);
		const found = await ui.page.locator('[data-test-id=node-creator] [data-test-id=item-iterator-item]').allInnerTexts();
		const titles = found.map((t) => t.split('\n')[0].trim());
		for (const name of NODES) assert.ok(titles.some((t) => t.startsWith(name)), `"${name}" among the results: ${JSON.stringify(titles)}`);
		await ui.page.keyboard.press('Escape');
	});

	await ctx.test("each node's panel: Docs opens the node's README section, placeholders are {{ … }}, subtitles in words", async () => {
		await ui.openWorkflow(panels.id);
		const anchors = { 'Idempotency Guard': '#idempotency-guard', 'State Ledger': '#state-ledger', 'Exception Router': '#exception-router' };
		for (const name of NODES) {
			await ui.openNode(name);
			const docs = await ui.page.locator('[data-test-id=ndv] a').filter({ hasText: 'Docs' }).first().getAttribute('href');
			assert.ok(docs.endsWith(anchors[name]), `${name}: the Docs link keeps its section at the end: ${docs}`);
			const placeholders = await ui.page.$$eval('[data-test-id=ndv] [placeholder]', (els) => els.map((e) => e.getAttribute('placeholder')));
			assert.deepEqual(placeholders.filter((p) => p.startsWith('=')), [], `${name}: placeholders starting with "="`);
			await ui.closeNode();
		}
		// subtitles in words, no stray "Output" label on a single output
		const ledger = await ui.node('State Ledger').innerText();
		assert.match(ledger, /Mark processed/, 'the State Ledger subtitle');
		assert.doesNotMatch(ledger, /markProcessed/);
	});

	await ctx.test('lead-intake imported with the CLI: every store node is flagged and Publish is off until its credential is chosen in the panel; then it publishes and writes once', async () => {
		await ui.openWorkflow(leadIntake.id);
		const flagged = await ui.flaggedNodes();
		const store = storeNodeNames(leadIntake);
		assert.deepEqual(flagged.sort(), [...store].sort(), 'nodes with n8n\'s issue sign before any credential is chosen');
		assert.equal(await ui.publishEnabled(), false, 'Publish is available although the store nodes have no usable credential');
		await chooseCredentials(ui, store, pgName);
		assert.deepEqual(await ui.flaggedNodes(), [], 'flagged nodes after choosing the credentials');
		await shoot(ui, 'lead-intake-canvas');
		assert.deepEqual(await overlaps(ui), [], 'overlapping nodes on the lead-intake canvas');
		await ui.save();
		await ui.publish();
		const lead = { email: 'Grace@Example.com ', name: 'Grace Hopper', source: 'website-form', submissionId: 'browser-1' };
		let first;
		for (let i = 0; i < 40; i++) {
			first = await n8n.webhook('lead-intake', lead);
			if (first.status !== 404) break;
			await new Promise((r) => setTimeout(r, 250));
		}
		assert.equal(first.status, 201, `first delivery: ${first.status} ${first.text}`);
		const again = await n8n.webhook('lead-intake', lead);
		assert.equal(again.status, 200, `redelivery: ${again.status} ${again.text}`);
		assert.deepEqual(again.json, { status: 'duplicate', contactId: first.json.contactId });
		if (services.crm.writeCount) assert.equal(services.crm.writeCount('grace@example.com'), 1, 'CRM writes');
	});

	for (const [name, probe] of [
		['invoice-posting', async () => n8n.webhook('invoice-posting', { supplierId: 'SUP-B', invoiceNumber: 'INV-1', period: '2026-11', amount: '10.00', currency: 'EUR' })],
		['key-inspector', async () => n8n.webhook('idempotency-report', { namespace: 'crm-leads' })],
	]) {
		await ctx.test(`${name} imported from a file in the editor: no credential left to choose, no overlapping nodes; published, its webhook answers`, async () => {
			const id = await ui.importFile(setup.files[name]);
			const wf = (await ui.rest(`/rest/workflows/${id}`)).json.data;
			for (const node of wf.nodes.filter((n) => STORE_NODES.test(n.type))) {
				assert.equal(node.credentials?.idempotencyPostgresApi?.name, pgName, `${node.name}: the credential n8n chose on import`);
			}
			assert.deepEqual(await ui.flaggedNodes(), [], 'flagged nodes');
			assert.deepEqual(await overlaps(ui), [], 'overlapping nodes');
			await ui.publish();
			let res;
			for (let i = 0; i < 40; i++) {
				res = await probe();
				if (res.status !== 404) break;
				await new Promise((r) => setTimeout(r, 250));
			}
			assert.ok([200, 201].includes(res.status), `webhook: ${res.status} ${res.text}`);
		});
	}

	await ctx.test('dragging "email" from the input panel onto Key Fields writes the path, and Execute step routes the item to New', async () => {
		await ui.openWorkflow(panels.id);
		await ui.openNode('Idempotency Guard');
		const field = ui.page.locator('[data-test-id=ndv-input-panel] [data-test-id=run-data-schema-item]').filter({ hasText: 'email' }).first();
		const pill = field.locator('[draggable], .pill, [data-test-id=run-data-schema-item-name]').first();
		// a namespace of this run's own: a rerun on the same n8n starts from a fresh key space
		await ui.parameter('namespace').locator('input, [contenteditable=true]').first().fill(`editor-${Date.now()}`);
		const target = ui.parameter('keyFields');
		await target.locator('input').first().fill('');
		const from = await (await pill.count() ? pill : field).boundingBox();
		const to = await target.boundingBox();
		await ui.page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
		await ui.page.mouse.down();
		await ui.page.mouse.move(from.x + from.width / 2 + 20, from.y + from.height / 2 + 5, { steps: 5 });
		await ui.page.mouse.move(to.x + to.width / 2, to.y + to.height / 2, { steps: 20 });
		await ui.page.waitForTimeout(300);
		await ui.page.mouse.up();
		await ui.page.waitForTimeout(800);
		const value = (await ui.parameterValue('keyFields')).trim();
		assert.equal(value, 'email', 'Key Fields after the drop');
		await ui.page.click('[data-test-id=ndv] [data-test-id=node-execute-button]');
		await ui.page.waitForSelector('[data-test-id=ndv] [data-test-id=output-panel] [data-test-id=ndv-data-container], [data-test-id=output-panel] table, [data-test-id=output-panel] .json-data', { timeout: 30_000 }).catch(() => {});
		const out = await outputJson(ui);
		await ui.dismissToasts();
		await shoot(ui, 'guard-panel', ui.page.locator('[data-test-id=ndv]').first());
		assert.doesNotMatch(out, /missing_key/, 'the output after Execute step');
		assert.match(out, /first_seen/, 'the output after Execute step');
		await ui.closeNode();
	});

	await ctx.test('a second test run of the same item takes back the first test run\'s claim: New again, not held in_progress', async () => {
		await ui.openNode('Idempotency Guard');
		await ui.page.click('[data-test-id=ndv] [data-test-id=node-execute-button]');
		await ui.page.waitForSelector('[data-test-id=ndv] [data-test-id=output-panel] [data-test-id=ndv-data-container], [data-test-id=output-panel] table, [data-test-id=output-panel] .json-data', { timeout: 30_000 }).catch(() => {});
		const out = await outputJson(ui);
		assert.doesNotMatch(out, /in_progress/, 'the second run is not held');
		assert.match(out, /first_seen/, 'the second run is New');
		await ui.dismissToasts();
		await shoot(ui, 'guard-second-test-run', ui.page.locator('[data-test-id=ndv]').first());
		await ui.closeNode();
	});

	await ctx.test('Store switched to Redis: the node is flagged until the Redis credential is chosen (n8n leaves that slot empty)', async () => {
		await ui.openNode('Exception Router');
		await ui.chooseOption('store', 'Redis');
		await ui.closeNode();
		assert.ok((await ui.flaggedNodes()).includes('Exception Router'), 'the Router is flagged after switching to Redis');
		await chooseCredentials(ui, ['Exception Router'], redisName);
		assert.ok(!(await ui.flaggedNodes()).includes('Exception Router'), 'not flagged once the Redis credential is chosen');
	});

	await ctx.test('credential tests in the dialog: Postgres connects; a wrong port does not; Redis without persistence is green once accepted, red with what and how to accept otherwise', async () => {
		// Opening a credential tests it, and so does saving it: read the dialog once n8n's
		// answer to that test (POST /rest/credentials/test) has arrived and is drawn.
		const tested = () => ui.page.waitForResponse((r) => r.url().includes('/rest/credentials/test'), { timeout: 30_000 });
		const testCredential = async (name, edit) => {
			await ui.page.goto(`${n8n.baseUrl}/home/credentials`);
			let answer = tested();
			await ui.page.locator('[data-test-id=resources-list-item]').filter({ hasText: name }).first().click();
			const modal = ui.page.locator('[data-test-id=editCredential-modal]');
			await modal.waitFor();
			await answer;
			if (edit) {
				await edit(modal);
				answer = tested();
				await ui.page.click('[data-test-id=credential-save-button]');
				await answer;
			}
			await ui.page.waitForTimeout(700);
			// n8n shows a failed test's message behind "More details"
			const more = modal.getByText('More details', { exact: true });
			if (await more.count()) {
				await more.first().click();
				await ui.page.waitForTimeout(400);
			}
			const text = await modal.innerText();
			await shoot(ui, `credential-${name.replace(/\W+/g, '-').toLowerCase()}${edit ? `-${edit.label}` : ''}`, modal);
			await ui.page.keyboard.press('Escape');
			await modal.waitFor({ state: 'hidden' }).catch(() => {});
			return text;
		};
		const setPort = (port) => Object.assign(async (modal) => modal.locator('[data-test-id=parameter-input-port] input').fill(String(port)), { label: `port-${port}` });
		const pgGood = await testCredential(pgName);
		assert.match(pgGood, /Connection tested successfully/, 'Postgres, good settings');
		const port = setup.credentials.find((c) => c.type === 'idempotencyPostgresApi').data.port;
		const pgWrong = await testCredential(pgName, setPort(1));
		const pgBack = await testCredential(pgName, setPort(port));
		assert.match(pgWrong, /Couldn.t connect with these settings/, 'Postgres, wrong port');
		assert.match(pgWrong, /ECONNREFUSED|refused|port 1|:1\b/i, `Postgres, wrong port: the reason in ${JSON.stringify(pgWrong.slice(0, 600))}`);
		assert.match(pgBack, /Connection tested successfully/, 'Postgres, the port set back');
		// The run's Redis credential accepts a Redis that keeps nothing on disk (Allow No Persistence):
		// accepted risks test green. Turned off, the test fails and says what is lost and how to accept it.
		const redisText = await testCredential(redisName);
		assert.match(redisText, /Connection tested successfully/, 'Redis, its risks accepted in the credential: green');
		const persistenceOff = /appendonly no save ""/.test(await redisConfig());
		if (persistenceOff) {
			const toggle = (label) => Object.assign(async (modal) => modal.locator('[data-test-id=parameter-input-allowNoPersistence] .el-switch').click(), { label });
			const refused = await testCredential(redisName, toggle('no-persistence-not-accepted'));
			await testCredential(redisName, toggle('no-persistence-accepted'));
			assert.match(refused, /Couldn.t connect with these settings/, 'Redis without persistence, not accepted: red');
			assert.match(refused, /keeps nothing on disk/, 'Redis without persistence: what is lost');
			assert.match(refused, /"Allow No Persistence"/, 'Redis without persistence: how to accept it');
		}
	});
}

async function redisConfig() {
	const { redisCli } = require('../lib/databases');
	try {
		return `appendonly ${String(redisCli(['CONFIG', 'GET', 'appendonly'])).split('\n')[1]?.trim()} save ${String(redisCli(['CONFIG', 'GET', 'save'])).split('\n')[1]?.trim() || '""'}`;
	} catch {
		return '';
	}
}

module.exports = { browserTests };
