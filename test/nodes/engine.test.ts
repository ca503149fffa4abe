// The nodes inside n8n's own execution engine (n8n-core's WorkflowExecute, see
// test/helpers/n8nEngine.ts), with the real Postgres and Redis behind them: what depends on how
// n8n runs a workflow rather than on our code alone — the paired items the Ledger follows back to
// the nearest Guard, continue on fail and the error output n8n adds, binary data, expressions, the
// Router's outputs n8n builds from its rules.
// The Trigger's static data across polls is in engineTrigger.test.ts.

import type { IDataObject, INodeExecutionData, NodeOperationError } from 'n8n-workflow';
import { ENGINES, stopEngine, useEngine } from '../helpers/n8nEvaluator';
import { runFlow, TYPES, type Flow, type FlowNode } from '../helpers/n8nEngine';
import { nodeTestStores } from '../helpers/nodeStores';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

let namespace = '';
let store: CredentialKind = 'postgres';

const { credentials } = nodeTestStores('engine_node', 'engine', (ns) => {
	namespace = ns;
});

const source = (items: IDataObject[], more: Partial<FlowNode> = {}): FlowNode => ({ name: 'Webhook', type: TYPES.source, parameters: { items: JSON.stringify(items) }, ...more });
const guard = (name = 'Guard', parameters: IDataObject = {}, more: Partial<FlowNode> = {}): FlowNode => ({
	name,
	type: TYPES.guard,
	parameters: { store, namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options: {}, ...parameters },
	...more,
});
/** A CRM write: replaces the json with the "created contact", as an HTTP Request node does. */
const write = (parameters: IDataObject = {}, more: Partial<FlowNode> = {}): FlowNode => ({
	name: 'Create contact',
	type: TYPES.write,
	parameters: { response: '={{ { id: "c-" + $json.email, created: true } }}', ...parameters },
	...more,
});
const ledger = (name: string, parameters: IDataObject, more: Partial<FlowNode> = {}): FlowNode => ({
	name,
	type: TYPES.ledger,
	parameters: { store, keySource: 'metadata', options: {}, ...parameters },
	...more,
});
const markProcessed = (name = 'Mark processed') => ledger(name, { operation: 'markProcessed', result: '={{ { contactId: $json.id } }}' });
const getRecord = (key: string, ns = namespace): Flow => ({
	credentials,
	nodes: [source([{}]), ledger('Get', { operation: 'get', keySource: 'explicit', namespace: ns, key })],
	edges: [['Webhook', 'Get']],
});
const meta = (item: INodeExecutionData) => item.json._idempotency as IDataObject;

describe.each(CREDENTIAL_KINDS)('on n8n\'s engine, %s store', (kind) => {
	beforeAll(() => {
		store = kind;
	});

	it('marks processed through paired-item lineage after a write that replaced the json, and the retry gets the stored result', async () => {
		const flow: Flow = {
			credentials,
			nodes: [source([{ email: 'a@x' }, { email: 'b@x' }]), guard(), write(), markProcessed()],
			edges: [['Webhook', 'Guard'], ['Guard', 'Create contact'], ['Create contact', 'Mark processed']],
		};
		const first = await runFlow(flow);
		expect(first.run.data.resultData.error?.message).toBeUndefined();
		const applied = first.output('Mark processed', 0);
		expect(applied.map((i) => [i.json.id, (i.json.ledger as IDataObject).key, (i.json.ledger as IDataObject).state])).toEqual([
			['c-a@x', 'a@x', 'processed'],
			['c-b@x', 'b@x', 'processed'],
		]);
		expect(first.output('Mark processed', 1)).toEqual([]);

		const retry = await runFlow(flow);
		expect(retry.output('Guard', 0)).toEqual([]);
		const duplicates = retry.output('Guard', 1);
		expect(duplicates.map((i) => [meta(i).key, meta(i).result])).toEqual([
			['a@x', { contactId: 'c-a@x' }],
			['b@x', { contactId: 'c-b@x' }],
		]);
		expect(() => retry.task('Create contact')).toThrow(/did not run/);

		const got = (await runFlow(getRecord('a@x'))).output('Get')[0].json;
		// The record names the workflow and execution n8n ran, and the Ledger node by its name.
		expect(got).toMatchObject({ state: 'processed', workflowId: 'wf-engine', executionId: first.executionId });
		// A claim of a test run names its Guard "(test run)" (IdempotencyGuard/helpers/testRuns.ts).
		expect((got.history as IDataObject[]).map((h) => [h.event, h.node])).toEqual([
			['claimed', 'Guard (test run)'],
			['processed', 'Mark processed'],
			['duplicate_seen', 'Guard (test run)'],
		]);
	});

	it('follows the lineage to the nearest of two Guards in a row', async () => {
		const outer = `${namespace}-orders`;
		const flow: Flow = {
			credentials,
			nodes: [
				source([{ email: 'a@x' }]),
				guard('Order guard', { namespace: outer }),
				guard('Contact guard'),
				write(),
				markProcessed(),
			],
			edges: [['Webhook', 'Order guard'], ['Order guard', 'Contact guard'], ['Contact guard', 'Create contact'], ['Create contact', 'Mark processed']],
		};
		const run = await runFlow(flow);
		expect(run.output('Mark processed')[0].json.ledger).toMatchObject({ namespace, key: 'a@x', applied: true, state: 'processed' });
		expect((await runFlow(getRecord('a@x', outer))).output('Get')[0].json).toMatchObject({ state: 'processing' });
	});

	it('marks failed from the write\'s error output: n8n gives the Guard\'s item back with the error', async () => {
		const flow: Flow = {
			credentials,
			nodes: [
				source([{ email: 'ok@x' }, { email: 'down@x' }]),
				guard(),
				write({ fail: '={{ $json.email === "down@x" }}' }, { onError: 'continueErrorOutput' }),
				markProcessed(),
				ledger('Mark failed', { operation: 'markFailed' }),
			],
			edges: [['Webhook', 'Guard'], ['Guard', 'Create contact'], ['Create contact', 0, 'Mark processed'], ['Create contact', 1, 'Mark failed']],
		};
		const run = await runFlow(flow);
		expect(run.output('Mark processed').map((i) => (i.json.ledger as IDataObject).key)).toEqual(['ok@x']);
		const failed = run.output('Mark failed');
		expect(failed.map((i) => [(i.json.ledger as IDataObject).key, (i.json.ledger as IDataObject).state])).toEqual([['down@x', 'failed']]);
		expect((await runFlow(getRecord('down@x'))).output('Get')[0].json).toMatchObject({ state: 'failed', lastError: 'CRM answered 503', attempt: 1 });
		const retry = await runFlow(flow);
		expect(retry.output('Guard', 0).map((i) => [meta(i).key, meta(i).reason, meta(i).attempt])).toEqual([['down@x', 'retry_after_failure', 2]]);
	});

	it('fails the run on a bad item, naming it, with the fix as the error\'s description; nothing downstream runs', async () => {
		const run = await runFlow({
			credentials,
			nodes: [source([{ email: 'ok@x' }, { name: 'no email' }]), guard('Guard', { options: { onMissingKey: 'error' } }), write()],
			edges: [['Webhook', 'Guard'], ['Guard', 'Create contact']],
		});
		const error = run.run.data.resultData.error as NodeOperationError;
		expect(error.message).toMatch(/^Item 1 has no usable business key: field "email" is missing/);
		expect(error.description).toMatch(/On Missing Key/);
		expect(run.run.data.resultData.lastNodeExecuted).toBe('Guard');
		expect(run.task('Guard').executionStatus).toBe('error');
		expect(() => run.task('Create contact')).toThrow(/did not run/);
	});

	it.each([
		['continueOnFail', { continueOnFail: true }, 3],
		['On Error: Continue (using error output)', { onError: 'continueErrorOutput' as const }, 4],
	])('under %s a bad item goes on to Ambiguous with its error, never to New', async (_, setting, outputs) => {
		const run = await runFlow({
			credentials,
			nodes: [source([{ email: 'ok@x' }, { name: 'no email' }]), guard('Guard', { options: { onMissingKey: 'error' } }, setting)],
			edges: [['Webhook', 'Guard']],
		});
		expect(run.run.data.resultData.error?.message).toBeUndefined();
		const data = run.task('Guard').data!.main;
		expect(data).toHaveLength(outputs);
		expect(run.output('Guard', 0).map((i) => meta(i).key)).toEqual(['ok@x']);
		const [bad] = run.output('Guard', 2);
		expect(bad.json).toMatchObject({ name: 'no email', error: expect.stringMatching(/^Item 1 has no usable business key/), errorHint: expect.stringMatching(/On Missing Key/) });
		expect(bad.pairedItem).toEqual({ item: 1 });
		// n8n moves to its error output only items that carry nothing but the error; ours keep the
		// item (CONTRACT §8), so that output stays empty.
		if (outputs === 4) expect(run.output('Guard', 3)).toEqual([]);
	});

	it('sends an item without idempotency metadata to Rejected under continueOnFail, and fails the run without it', async () => {
		const nodes = (more: Partial<FlowNode>) => [source([{ email: 'a@x' }]), write(), ledger('Mark processed', { operation: 'markProcessed', result: '{}' }, more)];
		const edges: Flow['edges'] = [['Webhook', 'Create contact'], ['Create contact', 'Mark processed']];
		const failing = await runFlow({ credentials, nodes: nodes({}), edges });
		expect(failing.run.data.resultData.error?.message).toMatch(/Item 0 has no idempotency metadata/);
		const going = await runFlow({ credentials, nodes: nodes({ continueOnFail: true }), edges });
		expect(going.output('Mark processed', 0)).toEqual([]);
		expect(going.output('Mark processed', 1)[0].json).toMatchObject({ id: 'c-a@x', error: expect.stringMatching(/no idempotency metadata/) });
	});

	it('keeps binary data through the Guard (New, Duplicate) and the Ledger', async () => {
		const pdf = Buffer.from('%PDF-1.4 invoice 42');
		const flow: Flow = {
			credentials,
			nodes: [
				source([{ email: 'a@x' }], { binary: [{ invoice: { data: pdf.toString('base64'), mimeType: 'application/pdf', fileName: 'invoice.pdf' } }] }),
				guard(),
				ledger('Mark processed', { operation: 'markProcessed', result: '{}' }),
			],
			edges: [['Webhook', 'Guard'], ['Guard', 'Mark processed']],
		};
		const first = await runFlow(flow);
		const again = await runFlow(flow);
		const items = [first.output('Guard', 0), first.output('Mark processed', 0), again.output('Guard', 1)].map((list) => list[0]);
		expect(items.every(Boolean)).toBe(true);
		for (const item of items) {
			expect(item.binary?.invoice).toMatchObject({ mimeType: 'application/pdf', fileName: 'invoice.pdf' });
			expect(Buffer.from(item.binary!.invoice.data, 'base64').equals(pdf)).toBe(true);
		}
	});
});

describe('an unknown Store on n8n\'s engine (a workflow from a newer version of this package)', () => {
	it('fails the run with the store\'s own hint as the description, and under continueOnFail the item carries it', async () => {
		const nodes = (more: Partial<FlowNode>) => [source([{ email: 'a@x' }]), guard('Guard', { store: 'mongo' }, more)];
		const failing = await runFlow({ credentials, nodes: nodes({}), edges: [['Webhook', 'Guard']] });
		const error = failing.run.data.resultData.error as NodeOperationError;
		expect(error.message).toBe('The idempotency store failed: Unknown store "mongo"');
		expect(error.description).toMatch(/^Choose Postgres, Redis or Embedded as the Store\./);
		const going = await runFlow({ credentials, nodes: nodes({ continueOnFail: true }), edges: [['Webhook', 'Guard']] });
		expect(going.output('Guard', 0)).toEqual([]);
		expect(going.output('Guard', 2)[0].json).toMatchObject({
			error: 'The idempotency store failed: Unknown store "mongo"',
			errorHint: expect.stringMatching(/^Choose Postgres, Redis or Embedded as the Store\./),
		});
	});
});

describe.each(ENGINES)('expressions on n8n\'s %s engine', (engine) => {
	beforeAll(async () => {
		store = 'postgres';
		await useEngine(engine);
	}, 30_000);
	afterAll(async () => stopEngine());

	it('evaluates the namespace from $workflow, the key from an expression and the result object per item', async () => {
		const workflowId = `wf-${namespace}`;
		const run = await runFlow({
			credentials,
			workflowId,
			nodes: [
				source([{ customer: { email: 'A@X ' } }, { customer: { email: 'b@x' } }]),
				guard('Guard', { namespace: '={{ $workflow.id }}', keySource: 'expression', key: '={{ $json.customer.email.trim().toLowerCase() }}' }),
				write({ response: '={{ { id: "c-" + $json.customer.email.trim(), n: $itemIndex } }}' }),
				markProcessed(),
			],
			edges: [['Webhook', 'Guard'], ['Guard', 'Create contact'], ['Create contact', 'Mark processed']],
		});
		expect(run.run.data.resultData.error?.message).toBeUndefined();
		expect(run.output('Guard', 0).map((i) => [meta(i).namespace, meta(i).key])).toEqual([
			[workflowId, 'a@x'],
			[workflowId, 'b@x'],
		]);
		const got = (await runFlow(getRecord('a@x', workflowId))).output('Get')[0].json;
		expect(got).toMatchObject({ namespace: workflowId, state: 'processed', result: { contactId: 'c-A@X' } });
	});
	it('routes an Ambiguous item through the Router\'s outputs n8n builds from its rules, linking the execution n8n ran', async () => {
		const rules = {
			rule: [
				{ outputName: 'Finance review', reasons: ['payload_mismatch'], condition: true, owner: 'U024BE7LH', severity: 'high' },
				{ outputName: 'Stale', reasons: ['lease_expired', 'in_progress'], condition: true, owner: '@revops', severity: 'medium' },
			],
		};
		const flow = (amount: number): Flow => ({
			credentials,
			nodes: [
				source([{ id: 'INV-1', amount }]),
				guard('Guard', { keyFields: 'id', fingerprint: 'fields', fingerprintFields: 'amount' }),
				// The error output makes n8n evaluate the Router's outputs expression to find where it goes.
				{ name: 'Router', type: TYPES.router, parameters: { store, operation: 'route', keySource: 'metadata', reason: 'fromItem', rules, fallbackOwner: 'team-ops', options: {} }, onError: 'continueErrorOutput' },
				write({ response: '={{ { notified: $json.exception.owner } }}' }, { name: 'Notify finance' }),
			],
			edges: [['Webhook', 'Guard'], ['Guard', 2, 'Router'], ['Router', 0, 'Notify finance']],
		});
		await runFlow(flow(100));
		const run = await runFlow(flow(999));
		expect(run.run.data.resultData.error?.message).toBeUndefined();
		expect(run.task('Router').data!.main).toHaveLength(4);
		const [routed] = run.output('Router', 0);
		expect(routed.json.exception).toMatchObject({
			key: 'INV-1',
			reason: 'payload_mismatch',
			route: 'Finance review',
			executionId: run.executionId,
			executionUrl: `http://localhost:5678/workflow/wf-engine/executions/${run.executionId}`,
		});
		expect(run.output('Notify finance').map((i) => i.json)).toEqual([{ notified: 'U024BE7LH' }]);
	});
});
