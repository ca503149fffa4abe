// A real browser on n8n's editor: Playwright (playwright-core, no bundled browser) driving
// Debian's Chromium headless, with a fresh user-data-dir per session. Small helpers for what a
// person does in the editor: log in, open a workflow, import a file, open a node's panel, pick
// a credential, save, publish.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { OWNER } = require('../n8n-runtime');

const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';
const FLAGS = [
	'--no-sandbox',
	'--disable-gpu',
	'--disable-quic',
	'--no-first-run',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
];

/** A logged-in editor session on `baseUrl`: { page, context, close() }. */
async function openEditor(baseUrl) {
	if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set E2E_CHROMIUM)`);
	const { chromium } = require('playwright-core');
	const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM,
		headless: true,
		args: FLAGS,
		viewport: { width: 1440, height: 900 },
	});
	context.setDefaultTimeout(20_000);
	const page = context.pages()[0] || (await context.newPage());
	await page.goto(`${baseUrl}/signin`);
	await page.locator('[data-test-id=emailOrLdapLoginId] input, input[name=emailOrLdapLoginId]').first().fill(OWNER.email);
	await page.locator('[data-test-id=password] input, input[type=password]').first().fill(OWNER.password);
	await page.click('[data-test-id=form-submit-button]');
	await page.waitForURL(/\/(home|workflow)/, { timeout: 30_000 });
	const ui = {
		page,
		context,
		baseUrl,
		async close() {
			await context.close().catch(() => {});
			fs.rmSync(userDataDir, { recursive: true, force: true });
		},
		// n8n's REST API with this session's cookie (the browser-id must match the session's)
		async rest(p, { method = 'GET', body } = {}) {
			const browserId = await page.evaluate(() => localStorage.getItem('n8n-browserId'));
			const res = await page.request.fetch(`${baseUrl}${p}`, { method, data: body, headers: { 'browser-id': browserId || '' } });
			const text = await res.text();
			let json;
			try {
				json = JSON.parse(text);
			} catch {
				json = undefined;
			}
			return { status: res.status(), json, text };
		},
		async openWorkflow(id) {
			await page.goto(`${baseUrl}/workflow/${id}`);
			await page.waitForSelector('[data-test-id=canvas-node]');
			await page.waitForTimeout(500);
			// another session (an earlier browser) still holds the workflow: take it over
			const takeOver = page.getByText('Edit here', { exact: true });
			if (await takeOver.count()) await takeOver.first().click();
		},
		async newWorkflow() {
			await page.goto(`${baseUrl}/workflow/new`);
			await page.waitForSelector('[data-test-id=canvas-plus-button], [data-test-id=canvas-add-button]');
		},
		/** Import from File… (the hidden input behind the workflow menu's item), then save. Returns the new id. */
		async importFile(file) {
			await ui.newWorkflow();
			await page.setInputFiles('[data-test-id=workflow-import-input]', file);
			await page.waitForSelector('[data-test-id=canvas-node]');
			await ui.save();
			const id = page.url().match(/\/workflow\/([^/?#]+)/)?.[1];
			if (!id || id === 'new') throw new Error(`the imported workflow was not saved (${page.url()})`);
			return id;
		},
		async save() {
			await page.keyboard.press('Control+s');
			await page.waitForURL(/\/workflow\/(?!new)[^/?#]+/, { timeout: 15_000 });
			await page.waitForTimeout(800);
		},
		node: (name) => page.locator(`[data-test-id=canvas-node][data-node-name="${name}"]`),
		/** Names of the canvas nodes that show n8n's issue sign. */
		async flaggedNodes() {
			return page.$$eval('[data-test-id=canvas-node]', (nodes) =>
				nodes.filter((n) => n.querySelector('[data-test-id=node-issues]')).map((n) => n.getAttribute('data-node-name')),
			);
		},
		async openNode(name) {
			// a panel left open (by a test that failed half-way) would cover the canvas
			if (await page.locator('[data-test-id=ndv]').first().isVisible().catch(() => false)) await ui.closeNode();
			await ui.node(name).dblclick();
			await page.waitForSelector('[data-test-id=ndv] [data-test-id=node-parameters]');
			await page.waitForTimeout(400);
		},
		async closeNode() {
			await page.click('[data-test-id=ndv-close-button]');
			await page.waitForSelector('[data-test-id=ndv]', { state: 'hidden' });
		},
		parameter: (name) => page.locator(`[data-test-id=ndv] [data-test-id=parameter-input-${name}]`).first(),
		async parameterValue(name) {
			const input = ui.parameter(name).locator('input, textarea, [contenteditable=true]').first();
			if (await input.count()) {
				const tag = await input.evaluate((el) => el.tagName);
				return tag === 'INPUT' || tag === 'TEXTAREA' ? input.inputValue() : input.innerText();
			}
			return ui.parameter(name).innerText();
		},
		/** Chooses `option` (its visible text) in the options parameter `name` of the open panel. */
		async chooseOption(name, option) {
			await ui.parameter(name).click();
			await page.locator('.el-select-dropdown:visible .el-select-dropdown__item, [role=option]:visible').filter({ hasText: option }).first().click();
			await page.waitForTimeout(400);
		},
		/** The credential selected in the open panel's credential slot ('' when none). */
		async selectedCredential() {
			const slot = page.locator('[data-test-id=ndv] [data-test-id=node-credentials-select]').first();
			if (!(await slot.count())) return '';
			return (await slot.locator('input').first().inputValue().catch(() => '')) || (await slot.innerText()).trim();
		},
		async publish() {
			await page.click('[data-test-id=workflow-open-publish-modal-button]');
			await page.click('[data-test-id=workflow-publish-button]');
			await page.waitForSelector('[data-test-id=workflowPublish-modal]', { state: 'hidden' }).catch(() => {});
		},
		async publishEnabled() {
			return page.locator('[data-test-id=workflow-open-publish-modal-button]').isEnabled();
		},
		/** Text of the toasts shown now. */
		async toasts() {
			return page.$$eval('.el-notification', (els) => els.map((e) => e.innerText.trim()));
		},
		async dismissToasts() {
			for (const close of await page.locator('.el-notification .el-notification__closeBtn').all()) await close.click().catch(() => {});
			await page.waitForTimeout(400);
		},
		async screenshot(file, locator) {
			fs.mkdirSync(path.dirname(file), { recursive: true });
			if (locator) await locator.screenshot({ path: file });
			else await page.screenshot({ path: file });
		},
	};
	return ui;
}

module.exports = { openEditor, CHROMIUM };
