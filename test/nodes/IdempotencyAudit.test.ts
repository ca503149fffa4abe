// The Idempotency Audit node at n8n's function boundary: input items are workflows as the n8n
// node's Get Many Workflows gives them (n8n 2.x: the draft at the top, the published version in
// activeVersion); out come one item per workflow, per finding, or one summary with a Slack
// message, filtered by Minimum Severity; accepted findings left out unless asked for; an item
// that is not a workflow named by its index (or, under continueOnFail, passed on as an error).

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { NodeOperationError, type IDataObject, type INodeExecutionData } from 'n8n-workflow';
import { IdempotencyAudit } from '../../nodes/IdempotencyAudit/IdempotencyAudit.node';
import { blockKitProblems } from '../helpers/blockKit';
import { mockContext } from '../helpers/n8nContext';

const ROOT = join(__dirname, '../..');

function webhookTo(name: string, write: Record<string, unknown>, notes?: string) {
	return {
		id: `wf-${name.replace(/\W/g, '')}`,
		name,
		nodes: [
			{ id: 'n1', name: 'Event', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], parameters: { httpMethod: 'POST', path: name } },
			{ id: 'n2', position: [200, 0], typeVersion: 4.2, ...write, ...(notes ? { notes } : {}) },
		],
		connections: { Event: { main: [[{ node: write.name, type: 'main', index: 0 }]] } },
	};
}

const createInvoice = { name: 'Create invoice', type: 'n8n-nodes-base.httpRequest', parameters: { method: 'POST', url: 'https://billing.example.com/invoices' } };
const lookUp = { name: 'Look up invoice', type: 'n8n-nodes-base.httpRequest', parameters: { method: 'GET', url: 'https://billing.example.com/invoices' } };

/** As n8n 2.41's public API (and so the n8n node) lists a published workflow. */
function listed(published: ReturnType<typeof webhookTo>, draft?: ReturnType<typeof webhookTo>) {
	return {
		...(draft ?? published),
		id: published.id,
		versionId: draft ? 'v-draft' : 'v-pub',
		activeVersionId: 'v-pub',
		activeVersion: { versionId: 'v-pub', nodes: published.nodes, connections: published.connections, name: published.name },
	};
}

const hazard = () => listed(webhookTo('Invoice webhook', createInvoice));
const clean = () => listed(webhookTo('Invoice lookup', lookUp));

async function run(items: unknown[], parameters: Record<string, unknown>, continueOnFail = false): Promise<INodeExecutionData[]> {
	const context = mockContext({
		items: items.map((json) => ({ json: json as IDataObject })),
		parameters: { output: 'summary', minimumSeverity: 'must', options: {}, ...parameters },
		nodeName: 'Idempotency Audit',
		continueOnFail,
	});
	const outputs = await new IdempotencyAudit().execute.call(context);
	expect(outputs).toHaveLength(1);
	return outputs[0];
}

describe('Idempotency Audit: outputs', () => {
	it('One Summary Item: totals, the workflows with findings, and a valid Slack message naming node and rule', async () => {
		const [summary, ...rest] = await run([hazard(), clean()], { output: 'summary' });
		expect(rest).toEqual([]);
		const json = summary.json as IDataObject & { summary: IDataObject; workflows: IDataObject[]; slack: { text: string; blocks: unknown[] } };
		expect(json.summary).toMatchObject({ workflows: 2, must: 1 });
		expect(json.workflows.map((w) => w.name)).toEqual(['Invoice webhook']);
		expect(json.workflows[0]).toMatchObject({ id: 'wf-Invoicewebhook', read: 'published', versionId: 'v-pub', counts: { must: 1 } });
		expect(blockKitProblems(json.slack)).toEqual([]);
		expect(json.slack.text).toMatch(/1 workflow can write twice or lose a write \(must or worse\)/);
		const blocks = JSON.stringify(json.slack.blocks);
		expect(blocks).toContain('*Create invoice* — `unguarded-write`');
		expect(blocks).toContain('Invoice webhook');
		expect(summary.pairedItem).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('says there is nothing to fix when no finding reaches the minimum severity', async () => {
		const [summary] = await run([clean()], { output: 'summary' });
		const slack = summary.json.slack as { text: string; blocks: unknown[] };
		expect(slack.text).toMatch(/no finding at must or worse/);
		expect(blockKitProblems(slack)).toEqual([]);
		expect(summary.json.workflows).toEqual([]);
	});

	it('keeps the Slack message within Block Kit limits for many workflows', async () => {
		const many = Array.from({ length: 60 }, (_, i) => listed(webhookTo(`Hook ${i}`, createInvoice)));
		const [summary] = await run(many, { output: 'summary' });
		const slack = summary.json.slack as { text: string; blocks: unknown[] };
		expect(blockKitProblems(slack)).toEqual([]);
		expect(JSON.stringify(slack.blocks)).toContain('…and 40 more workflows with findings');
	});

	it('One Item per Workflow: the report entry of each workflow with findings; all of them with Include Workflows Without Findings', async () => {
		const out = await run([hazard(), clean()], { output: 'workflows' });
		expect(out.map((i) => [i.json.name, i.pairedItem])).toEqual([['Invoice webhook', { item: 0 }]]);
		const entry = out[0].json as IDataObject & { checklist: IDataObject; findings: IDataObject[] };
		expect(Object.keys(entry)).toEqual(expect.arrayContaining(['name', 'triggers', 'writes', 'checklist', 'findings']));
		expect(entry.findings.map((f) => [f.rule, f.severity, f.node])).toContainEqual(['unguarded-write', 'must', 'Create invoice']);
		const all = await run([hazard(), clean()], { output: 'workflows', options: { includeClean: true } });
		expect(all.map((i) => i.json.name)).toEqual(['Invoice webhook', 'Invoice lookup']);
		expect(all[1].json.findings).toEqual([]);
	});

	it('One Item per Finding: each finding with its workflow', async () => {
		const out = await run([clean(), hazard()], { output: 'findings' });
		expect(out.length).toBeGreaterThanOrEqual(1);
		for (const item of out) expect(item.json.severity).toBe('must');
		expect(out.find((i) => i.json.rule === 'unguarded-write')).toMatchObject({
			json: { workflow: 'Invoice webhook', workflowId: 'wf-Invoicewebhook', node: 'Create invoice', id: expect.any(String), message: expect.any(String), fix: expect.any(String) },
			pairedItem: { item: 1 },
		});
	});

	it('Minimum Severity filters: must hides what info shows', async () => {
		// a shell command can change anything: the audit cannot judge it (info)
		const code = listed(webhookTo('Shell', { name: 'Run sync script', type: 'n8n-nodes-base.executeCommand', typeVersion: 1, parameters: { command: './sync.sh' } }));
		const atMust = await run([code], { output: 'findings', minimumSeverity: 'must' });
		const atInfo = await run([code], { output: 'findings', minimumSeverity: 'info' });
		expect(atMust).toEqual([]);
		expect(atInfo.map((i) => [i.json.rule, i.json.severity])).toContainEqual(['unknown-write', 'info']);
	});

	it('leaves out a finding accepted in the node notes, unless Include Accepted Findings is on', async () => {
		const accepted = listed(webhookTo('Accepted', createInvoice, 'idempotency-audit: accept unguarded-write — billing refuses a second invoice per order'));
		expect(await run([accepted], { output: 'findings' })).toEqual([]);
		const shown = await run([accepted], { output: 'findings', options: { includeAcknowledged: true } });
		expect(shown.find((i) => i.json.rule === 'unguarded-write')?.json).toMatchObject({ acknowledged: true });
		const [summary] = await run([accepted], { output: 'summary' });
		expect(summary.json.summary).toMatchObject({ must: 0, acknowledged: 1 });
	});
});

describe('Idempotency Audit: which version', () => {
	it('audits the published version by default and the draft when asked', async () => {
		const fixedDraft = listed(webhookTo('Invoice webhook', createInvoice), webhookTo('Invoice webhook', lookUp));
		const published = await run([fixedDraft], { output: 'workflows', options: { includeClean: true } });
		expect(published[0].json).toMatchObject({ read: 'published', versionId: 'v-pub', versionNote: expect.stringMatching(/draft \(version v-draft\)/) });
		expect((published[0].json.findings as IDataObject[]).map((f) => f.rule)).toContain('unguarded-write');
		const draft = await run([fixedDraft], { output: 'workflows', options: { includeClean: true, version: 'draft' } });
		expect(draft[0].json).toMatchObject({ read: 'draft', versionId: 'v-draft' });
		expect(draft[0].json.findings).toEqual([]);
	});

	it('reads a workflow without version fields (n8n 1.x, a file) as it is', async () => {
		const plain = webhookTo('Plain', createInvoice);
		const [entry] = await run([plain], { output: 'workflows' });
		expect(entry.json.read).toBeUndefined();
		expect(entry.json.name).toBe('Plain');
	});
});

describe('Idempotency Audit: input that is not a workflow', () => {
	it('fails naming the item and what to connect', async () => {
		const error = (await run([hazard(), { id: 'x', name: 'a credential' }], {}).catch((e: unknown) => e)) as NodeOperationError;
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error.message).toBe('Item 1: not a workflow: an object without a "nodes" list (it has "id", "name")');
		expect(error.description).toMatch(/n8n node's Workflow → Get Many operation/);
	});

	it('under continueOnFail: an error item (per workflow) or an entry in errors (summary)', async () => {
		const perWorkflow = await run([hazard(), { nope: true }], { output: 'workflows' }, true);
		expect(perWorkflow.map((i) => [i.json.name ?? null, i.json.error ?? null, i.pairedItem])).toEqual([
			['Invoice webhook', null, { item: 0 }],
			[null, expect.stringMatching(/^Item 1: not a workflow/), { item: 1 }],
		]);
		const [summary] = await run([hazard(), { nope: true }], { output: 'summary' }, true);
		expect(summary.json.errors).toEqual([{ file: 'item 1', message: expect.stringMatching(/^Item 1: not a workflow/) }]);
		expect(summary.json.summary).toMatchObject({ workflows: 1 });
	});

	it('reads an item holding a whole API page ({ data: [...] }) as its workflows', async () => {
		const out = await run([{ data: [hazard(), clean()], nextCursor: null }], { output: 'workflows', options: { includeClean: true } });
		expect(out.map((i) => [i.json.name, i.pairedItem])).toEqual([
			['Invoice webhook', { item: 0 }],
			['Invoice lookup', { item: 0 }],
		]);
	});

	it('gives nothing for no input', async () => {
		expect(await run([], {})).toEqual([]);
	});
});

describe('Idempotency Audit: the package', () => {
	it('is listed in package.json with its icon and codex file', () => {
		const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
		expect(pkg.n8n.nodes).toContain('dist/nodes/IdempotencyAudit/IdempotencyAudit.node.js');
		const { description } = new IdempotencyAudit();
		expect(description.name).toBe('idempotencyAudit');
		expect(existsSync(join(ROOT, 'nodes/IdempotencyAudit', String(description.icon).replace('file:', '')))).toBe(true);
		const codex = JSON.parse(readFileSync(join(ROOT, 'nodes/IdempotencyAudit/IdempotencyAudit.node.json'), 'utf8'));
		expect(codex.node).toBe('n8n-nodes-idempotency.idempotencyAudit');
		expect(codex.resources.primaryDocumentation[0].url).toBe(description.documentationUrl);
	});

	it('the example workflow feeds it from the n8n node and posts its Slack message', () => {
		const example = JSON.parse(readFileSync(join(ROOT, 'examples/idempotency-audit.json'), 'utf8'));
		const byType = (type: string) => example.nodes.find((n: { type: string }) => n.type === type);
		expect(byType('n8n-nodes-base.n8n').parameters).toMatchObject({ resource: 'workflow', operation: 'getAll', returnAll: true });
		expect(byType('n8n-nodes-base.scheduleTrigger')).toBeDefined();
		const audit = byType('n8n-nodes-idempotency.idempotencyAudit');
		expect(example.connections[byType('n8n-nodes-base.n8n').name].main[0][0].node).toBe(audit.name);
		expect(example.connections[audit.name].main[0][0].node).toBe('Tell Slack');
	});
});
