// The Idempotency Audit node inside n8n's own execution engine (test/helpers/n8nEngine.ts): a
// node saved with no parameters gets n8n's defaults (one summary item, must or worse), workflows
// arrive as items from the node before it, and an item that is not a workflow is handled the way
// n8n handles node errors — the execution fails, or with On Error "Continue" the item passes on
// with its error. What the audit finds is tested in test/audit/, the node's outputs in
// IdempotencyAudit.test.ts.

import type { IDataObject } from 'n8n-workflow';
import { runFlow, TYPES, type Flow, type FlowNode } from '../helpers/n8nEngine';

/** A webhook that creates an invoice with an HTTP POST and nothing before it. */
const hazard = {
	id: 'wf-hazard',
	name: 'Invoice webhook',
	nodes: [
		{ id: 'a', name: 'Event', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], parameters: { httpMethod: 'POST', path: 'inv' } },
		{ id: 'b', name: 'Create invoice', type: 'n8n-nodes-base.httpRequest', typeVersion: 4.2, position: [200, 0], parameters: { method: 'POST', url: 'https://billing.example.com/invoices' } },
	],
	connections: { Event: { main: [[{ node: 'Create invoice', type: 'main', index: 0 }]] } },
};

const source = (items: IDataObject[]): FlowNode => ({ name: 'Get many workflows', type: TYPES.source, parameters: { items: JSON.stringify(items) } });
const flow = (items: IDataObject[], audit: Partial<FlowNode> = {}): Flow => ({
	credentials: {},
	nodes: [source(items), { name: 'Idempotency Audit', type: TYPES.audit, ...audit }],
	edges: [['Get many workflows', 'Idempotency Audit']],
});

describe("the Idempotency Audit on n8n's engine", () => {
	it('saved with no parameters, gives one summary item at must with a Slack message', async () => {
		const run = await runFlow(flow([hazard, { ...hazard, id: 'wf-2', name: 'Another' }]));
		expect(run.run.data.resultData.error?.message).toBeUndefined();
		const out = run.output('Idempotency Audit');
		expect(out).toHaveLength(1);
		expect(out[0].json).toMatchObject({ minimumSeverity: 'must', summary: { workflows: 2, must: 2 } });
		expect((out[0].json.slack as IDataObject).text).toMatch(/2 workflows can write twice/);
	});

	it('fails the execution on an item that is not a workflow, naming the item', async () => {
		const run = await runFlow(flow([hazard, { name: 'not a workflow' }]));
		expect(run.run.data.resultData.error?.message).toBe('Item 1: not a workflow: an object without a "nodes" list (it has "name")');
	});

	it('with On Error "Continue", passes that item on with its error next to the findings', async () => {
		const run = await runFlow(flow([{ name: 'not a workflow' }, hazard], { parameters: { output: 'findings' }, onError: 'continueRegularOutput' }));
		expect(run.run.data.resultData.error).toBeUndefined();
		const out = run.output('Idempotency Audit');
		expect(out.map((i) => [i.json.rule ?? null, i.json.node ?? null, i.json.error ?? null, i.pairedItem])).toEqual([
			['unguarded-write', 'Create invoice', null, { item: 1 }],
			[null, null, expect.stringMatching(/^Item 0: not a workflow/), { item: 0 }],
		]);
	});
});
