// The `n8n-nodes-idempotency audit` command (cli/): every shape n8n writes workflows in, folders,
// files that are not workflows, damaged connections, the exit codes, --fail-on, acknowledged
// findings, stable finding ids, the three outputs, and a running n8n's public API — served here
// by a small HTTP server that answers as n8n 2.41's GET /api/v1/workflows does (draft at the top,
// published version in activeVersion, pages by nextCursor). The real n8n is in
// test/e2e/scenarios/audit.js.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../cli/args';
import { main, type CliIo } from '../../cli/audit';
import type { CliReport } from '../../cli/format';
import { apiBase } from '../../cli/n8nApi';

const ROOT = join(__dirname, '../..');
const SPEC_KEYS = ['checklist', 'findings', 'name', 'triggers', 'writes'];
const CHECKS = ['businessKey', 'checkBeforeWrite', 'failureOwnership', 'retrySources', 'stateLedger', 'writesMapped'];

/** A webhook that creates an invoice with an HTTP POST and nothing in front: the planted hazard. */
function hazard(name = 'Invoice webhook', notes?: string) {
	return {
		id: `wf-${name.replace(/\W/g, '')}`,
		name,
		nodes: [
			{ id: 'n1', name: 'Invoice event', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], parameters: { httpMethod: 'POST', path: 'inv' } },
			{
				id: 'n2',
				name: 'Create invoice',
				type: 'n8n-nodes-base.httpRequest',
				typeVersion: 4.2,
				position: [200, 0],
				parameters: { method: 'POST', url: 'https://billing.example.com/invoices', sendBody: true, specifyBody: 'json', jsonBody: '={{ JSON.stringify($json.body) }}' },
				...(notes ? { notes } : {}),
			},
		],
		connections: { 'Invoice event': { main: [[{ node: 'Create invoice', type: 'main', index: 0 }]] } },
	};
}

/** The same webhook that only reads: no write, nothing to find. */
function reader(name = 'Invoice lookup') {
	const wf = hazard(name);
	wf.nodes[1] = { ...wf.nodes[1], name: 'Create invoice', parameters: { method: 'GET', url: 'https://billing.example.com/invoices' } as never };
	return wf;
}

let dir: string;
beforeEach(() => {
	dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
	const path = join(dir, name);
	mkdirSync(join(path, '..'), { recursive: true });
	writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
	return path;
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
	let stdout = '';
	let stderr = '';
	const io: CliIo = { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env, cwd: dir, color: false };
	const code = await main(argv, io);
	return { code, stdout, stderr, json: () => JSON.parse(stdout) as CliReport };
}

describe('arguments', () => {
	it.each([
		[[], /no command/],
		[['lint', 'x.json'], /unknown command "lint"/],
		[['audit'], /nothing to audit/],
		[['audit', 'x.json', '--frobnicate'], /unknown option --frobnicate/],
		[['audit', 'x.json', '--json', '--markdown'], /exclude each other/],
		[['audit', 'x.json', '--fail-on', 'sometimes'], /--fail-on sometimes: use must, should or never/],
		[['audit', 'x.json', '--fail-on'], /--fail-on needs a value/],
		[['audit', '--n8n-url', 'http://localhost:5678'], /needs an API key/],
		[['audit', '--n8n-url', 'localhost:5678', '--api-key', 'k'], /must be http or https|is not a URL/],
		[['audit', 'x.json', '--api-key', 'k'], /only used with --n8n-url/],
	])('%j is unusable: exit 2 with the reason and the usage', async (argv, reason) => {
		const run = await cli(argv);
		expect(run.code).toBe(2);
		expect(run.stderr).toMatch(reason);
		expect(run.stderr).toContain('Usage: n8n-nodes-idempotency audit');
		expect(run.stdout).toBe('');
	});

	it('takes the API key from N8N_API_KEY when --api-key is not given, and --api-key over it', () => {
		expect(parseArgs(['audit', '--n8n-url', 'http://n8n:5678'], { N8N_API_KEY: 'from-env' }).apiKey).toBe('from-env');
		expect(parseArgs(['audit', '--n8n-url=http://n8n:5678', '--api-key=given'], { N8N_API_KEY: 'from-env' }).apiKey).toBe('given');
	});

	it('--help prints the usage and exits 0', async () => {
		const run = await cli(['--help']);
		expect(run.code).toBe(0);
		expect(run.stdout).toContain('--fail-on LEVEL');
	});

	it('reads the n8n address with or without /api/v1', () => {
		for (const url of ['http://n8n:5678', 'http://n8n:5678/', 'http://n8n:5678/api/v1', 'http://n8n:5678/api/v1/', 'http://n8n:5678/api/v1/workflows']) {
			expect(apiBase(url)).toBe('http://n8n:5678/api/v1');
		}
	});
});

describe('inputs', () => {
	it('reads every shape n8n writes workflows in, and folders recursively', async () => {
		write('one.json', hazard('One'));
		write('list.json', [hazard('In a list A'), reader('In a list B')]);
		write('nested/deeper/api-page.json', { data: [hazard('From the API')], nextCursor: null });
		write('nested/not-json.txt', 'ignored: not .json');
		const run = await cli(['audit', dir, '--json']);
		const report = run.json();
		expect(report.workflows.map((w) => [w.name, w.file]).sort()).toEqual(
			[
				['From the API', `${join('nested', 'deeper', 'api-page.json')} data[0]`],
				['In a list A', 'list.json[0]'],
				['In a list B', 'list.json[1]'],
				['One', 'one.json'],
			].sort(),
		);
		expect(report.errors).toEqual([]);
		expect(run.code).toBe(1);
	});

	it('reports a file that is not a workflow and goes on; invalid JSON too; never a crash', async () => {
		write('a-good.json', hazard());
		write('broken.json', '{ "nodes": [ ');
		write('package.json', { name: 'something', version: '1.0.0' });
		write('numbers.json', [1, 2]);
		write('empty.json', []);
		const report = (await cli(['audit', dir, '--json'])).json();
		expect(report.workflows).toHaveLength(1);
		const errors = Object.fromEntries(report.errors.map((e) => [e.file, e.message]));
		expect(errors['broken.json']).toMatch(/^invalid JSON/);
		expect(errors['package.json']).toMatch(/not a workflow: an object without a "nodes" list \(it has "name", "version"\)/);
		expect(errors['numbers.json[0]']).toMatch(/not a workflow: a number/);
		expect(errors['empty.json']).toMatch(/empty list/);
		expect(report.errors).toHaveLength(5);
	});

	it('names a path that does not exist, and exits 2 when nothing readable is left', async () => {
		write('package.json', { name: 'x' });
		const run = await cli(['audit', join(dir, 'missing.json'), join(dir, 'package.json')]);
		expect(run.code).toBe(2);
		expect(run.stdout).toMatch(/missing\.json: no such file or folder/);
		expect(run.stderr).toMatch(/no readable workflow/);
	});

	it('audits a workflow whose connections name nodes that do not exist as far as it can, and says so', async () => {
		const damaged = hazard('Damaged');
		(damaged.connections as Record<string, unknown>)['Ghost node'] = { main: [[{ node: 'Create invoice', type: 'main', index: 0 }]] };
		(damaged.connections as Record<string, unknown>)['Invoice event'] = {
			main: [[{ node: 'Create invoice', type: 'main', index: 0 }, { node: 'Also missing', type: 'main', index: 0 }]],
		};
		write('damaged.json', damaged);
		const run = await cli(['audit', dir, '--json']);
		const [entry] = run.json().workflows;
		expect(entry.problems?.join(' ')).toMatch(/Ghost node/);
		expect(entry.problems?.join(' ')).toMatch(/Also missing/);
		expect(entry.findings.some((f) => f.node === 'Create invoice' && f.rule === 'unguarded-write')).toBe(true);
		const terminal = await cli(['audit', dir]);
		expect(terminal.stdout).toMatch(/problem +.*Ghost node/);
	});
});

describe('exit codes, --fail-on and acknowledged findings', () => {
	it('exits 1 on a must finding by default, 0 with --fail-on never, 0 for a workflow without writes', async () => {
		const hazardous = write('hazard.json', hazard());
		const clean = write('reader.json', reader());
		expect((await cli(['audit', hazardous])).code).toBe(1);
		expect((await cli(['audit', hazardous, '--fail-on', 'never'])).code).toBe(0);
		expect((await cli(['audit', clean])).code).toBe(0);
		expect((await cli(['audit', clean, '--fail-on', 'should'])).code).toBe(0);
	});

	it('does not count a finding the node accepts in its notes, and shows it as accepted', async () => {
		const accepted = write('accepted.json', hazard('Accepted', 'idempotency-audit: accept unguarded-write — the billing API refuses a second invoice per order'));
		const run = await cli(['audit', accepted, '--json']);
		expect(run.code).toBe(0);
		const finding = run.json().workflows[0].findings.find((f) => f.rule === 'unguarded-write')!;
		expect(finding.acknowledged).toBe(true);
		expect(run.json().summary.must).toBe(0);
		const terminal = await cli(['audit', accepted]);
		expect(terminal.stdout).toMatch(/must \(accepted\) +unguarded-write · Create invoice/);
		expect(terminal.stdout).toMatch(/accepted: .*refuses a second invoice/);
	});

	it('our examples pass with no must finding (exit 0)', async () => {
		const run = await cli(['audit', join(ROOT, 'examples'), '--json']);
		const report = run.json();
		expect(report.errors).toEqual([]);
		expect(report.workflows.length).toBeGreaterThanOrEqual(5);
		expect(report.workflows.flatMap((w) => w.findings.filter((f) => f.severity === 'must').map((f) => `${w.name}: ${f.node} ${f.rule}`))).toEqual([]);
		expect(run.code).toBe(0);
	});
});

describe('outputs', () => {
	it('--json is the report of docs/CONTRACT.md: version 1, workflows with the checklist, errors, summary', async () => {
		write('hazard.json', hazard());
		write('nope.json', { hello: 'world' });
		const report = (await cli(['audit', dir, '--json'])).json();
		expect(report.version).toBe(1);
		expect(Object.keys(report.summary)).toEqual(expect.arrayContaining(['workflows', 'must', 'should', 'info']));
		expect(report.summary.workflows).toBe(1);
		expect(report.errors).toEqual([{ file: 'nope.json', message: expect.stringMatching(/not a workflow/) }]);
		const [entry] = report.workflows;
		expect(Object.keys(entry)).toEqual(expect.arrayContaining(SPEC_KEYS));
		expect(Object.keys(entry.checklist).sort()).toEqual(CHECKS);
		for (const state of Object.values(entry.checklist)) expect(['ok', 'missing', 'n/a']).toContain(state);
		expect(entry.file).toBe('hazard.json');
		expect(entry.triggers).toEqual(['Invoice event']);
		expect(entry.writes).toEqual(['Create invoice']);
		const finding = entry.findings.find((f) => f.rule === 'unguarded-write')!;
		expect(finding).toMatchObject({ severity: 'must', node: 'Create invoice', message: expect.any(String), fix: expect.any(String) });
	});

	it('gives each finding the same id on every run, and a different one per node and rule', async () => {
		write('a.json', [hazard('A'), hazard('B')]);
		const ids = async () => (await cli(['audit', dir, '--json'])).json().workflows.flatMap((w) => w.findings.map((f) => f.id));
		const first = await ids();
		expect(first.length).toBeGreaterThanOrEqual(2);
		expect(await ids()).toEqual(first);
		expect(new Set(first).size).toBe(first.length);
	});

	it('prints one screen per workflow: where, the checklist, each finding with severity, node, why and fix; then the summary', async () => {
		write('hazard.json', hazard());
		write('reader.json', reader());
		const { stdout } = await cli(['audit', dir]);
		expect(stdout).toMatch(/^Invoice webhook +hazard\.json$/m);
		expect(stdout).toMatch(/checklist +writes mapped: \w+ · retry sources: \w+ · business key: \S+ · check before write: \S+ · state ledger: \S+ · failure ownership: \S+/);
		expect(stdout).toMatch(/MUST +unguarded-write · Create invoice\n +why: .+\n +fix: .+/);
		expect(stdout).toMatch(/^Invoice lookup +reader\.json$/m);
		expect(stdout).toMatch(/By rule: unguarded-write \(must\) 1/);
		expect(stdout).toMatch(/2 workflows audited: 1 must, \d+ should, \d+ info\n$/);
		expect(stdout).not.toMatch(/\x1b\[/); // no colours when not a terminal
		const quiet = await cli(['audit', dir, '--quiet']);
		expect(quiet.stdout).not.toContain('checklist');
		expect(quiet.stdout).toMatch(/2 workflows audited/);
	});

	it('--markdown gives a pull-request comment: totals, a table of workflows, the findings of each', async () => {
		write('hazard.json', hazard());
		write('reader.json', reader());
		write('bad.json', '{');
		const { stdout, code } = await cli(['audit', dir, '--markdown']);
		expect(code).toBe(1);
		expect(stdout).toMatch(/^### Idempotency audit\n\n\*\*1 must · \d+ should · \d+ info\*\* in 2 workflows, 1 input skipped/);
		expect(stdout).toMatch(/\| :red_circle: \| Invoice webhook `hazard\.json` \| 1 \| 1 must/);
		expect(stdout).toMatch(/<details open><summary><b>Invoice webhook<\/b>/);
		expect(stdout).toMatch(/\| \*\*must\*\* \| `unguarded-write` \| Create invoice \| .+ \| .+ \|/);
		expect(stdout).toMatch(/- `bad\.json`: invalid JSON/);
	});
});

describe('--n8n-url: a running n8n through its public API', () => {
	let server: Server;
	let url: string;
	const seen: IncomingMessage[] = [];
	let pages: Array<Record<string, unknown>>;
	const KEY = 'n8n_api_secret-key-0123456789';

	beforeAll(async () => {
		server = createServer((req, res) => {
			seen.push(req);
			const query = new URL(req.url ?? '/', 'http://x').searchParams;
			if (req.headers['x-n8n-api-key'] !== KEY) {
				res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'unauthorized' }));
				return;
			}
			const page = pages[Number(query.get('cursor') ?? 0)];
			res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	});
	afterAll(() => new Promise((resolve) => server.close(resolve)));
	beforeEach(() => (seen.length = 0));

	/** As n8n 2.41 lists a workflow: the draft at the top, the published version in activeVersion. */
	function listed(published: ReturnType<typeof hazard>, draft: ReturnType<typeof hazard> | null, extra: Record<string, unknown> = {}) {
		const top = draft ?? published;
		return {
			...top,
			id: published.id,
			versionId: draft ? 'v-draft' : 'v-pub',
			activeVersionId: 'v-pub',
			active: true,
			isArchived: false,
			activeVersion: { versionId: 'v-pub', workflowId: published.id, nodes: published.nodes, connections: published.connections, name: published.name },
			...extra,
		};
	}

	it('reads every page (limit 250, nextCursor), audits the published version and says which version it read', async () => {
		const fixed = reader('Invoice webhook');
		pages = [
			{ data: [listed(hazard('Invoice webhook'), fixed)], nextCursor: '1' },
			{ data: [{ ...reader('Never published'), versionId: 'v-only', activeVersionId: null, activeVersion: null }], nextCursor: '2' },
			{ data: [listed(hazard('Archived'), null, { isArchived: true })], nextCursor: null },
		];
		const run = await cli(['audit', '--n8n-url', url, '--json'], { N8N_API_KEY: KEY });
		expect(seen.map((r) => new URL(r.url!, 'http://x').searchParams.get('limit'))).toEqual(['250', '250', '250']);
		expect(seen.map((r) => new URL(r.url!, 'http://x').pathname)).toEqual(['/api/v1/workflows', '/api/v1/workflows', '/api/v1/workflows']);
		const report = run.json();
		expect(report.workflows.map((w) => [w.name, w.id, w.read, w.versionId])).toEqual([
			['Invoice webhook', 'wf-Invoicewebhook', 'published', 'v-pub'],
			['Never published', 'wf-Neverpublished', 'draft', 'v-only'],
		]);
		expect(report.workflows[0].versionNote).toMatch(/draft \(version v-draft\) has changes that are not published/);
		expect(report.workflows[0].findings.map((f) => f.rule)).toContain('unguarded-write');
		expect(run.code).toBe(1);

		const drafts = (await cli(['audit', '--n8n-url', url, '--json', '--draft'], { N8N_API_KEY: KEY })).json();
		expect(drafts.workflows[0]).toMatchObject({ read: 'draft', versionId: 'v-draft' });
		expect(drafts.workflows[0].findings.filter((f) => f.severity === 'must')).toEqual([]);

		const terminal = await cli(['audit', '--n8n-url', url], { N8N_API_KEY: KEY });
		expect(terminal.stdout).toMatch(/^Invoice webhook +id wf-Invoicewebhook\n +read +published version v-pub \(the draft/m);
		expect(terminal.stdout + terminal.stderr).not.toContain(KEY);
	});

	it('exits 2 naming the URL and the status when the key is refused, never printing the key', async () => {
		pages = [{ data: [], nextCursor: null }];
		const run = await cli(['audit', '--n8n-url', url, '--api-key', 'wrong-secret-key']);
		expect(run.code).toBe(2);
		expect(run.stderr).toMatch(/refused the API key \(401\)/);
		expect(run.stderr).toContain(`${url}/api/v1/workflows`);
		expect(run.stdout + run.stderr).not.toContain('wrong-secret-key');
	});

	it('exits 2 when the n8n cannot be reached', async () => {
		const run = await cli(['audit', '--n8n-url', 'http://127.0.0.1:9', '--api-key', 'k']);
		expect(run.code).toBe(2);
		expect(run.stderr).toMatch(/could not reach n8n at http:\/\/127\.0\.0\.1:9\/api\/v1\/workflows/);
	});

	it('stops with exit 2 when n8n hands out the same cursor again, instead of looping', async () => {
		pages = [{ data: [listed(reader('Loop'), null)], nextCursor: '1' }, { data: [], nextCursor: '1' }];
		const run = await cli(['audit', '--n8n-url', url], { N8N_API_KEY: KEY });
		expect(run.code).toBe(2);
		expect(run.stderr).toMatch(/same nextCursor twice/);
		expect(seen).toHaveLength(2);
	});

	it('audits files and the n8n together', async () => {
		pages = [{ data: [listed(reader('Remote'), null)], nextCursor: null }];
		write('local.json', hazard('Local'));
		const report = (await cli(['audit', dir, '--n8n-url', url, '--json'], { N8N_API_KEY: KEY })).json();
		expect(report.workflows.map((w) => w.name).sort()).toEqual(['Local', 'Remote']);
	});
});

describe('the command as shipped', () => {
	it('is the package.json bin, a node script with a shebang', () => {
		const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
		expect(pkg.bin).toEqual({ 'n8n-nodes-idempotency': 'dist/cli/n8n-nodes-idempotency.js' });
		expect(pkg.files).toEqual(['dist']);
		expect(readFileSync(join(ROOT, 'cli/n8n-nodes-idempotency.ts'), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
	});
});
