// The nodes with n8n's real expression engine behind getNodeParameter (test/helpers/n8nEvaluator)
// and the real Postgres store: default namespace, $json key expressions, per-item namespaces and
// rule conditions work exactly as n8n evaluates them, and the evaluator runs only where an item
// can change the value.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { routerProperties } from '../../nodes/ExceptionRouter/actions/versionDescription';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { guardProperties } from '../../nodes/IdempotencyGuard/actions/versionDescription';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { ledgerProperties } from '../../nodes/StateLedger/actions/versionDescription';
import { closeAllStores } from '../../nodes/shared/store/registry';
import { mockContext, postgresCredential } from '../helpers/n8nContext';
import { realNode } from '../helpers/n8nEvaluator';
import { dropSchema, uniqueSchema } from '../helpers/postgres';

const schema = uniqueSchema('guard_params');
const credentials = { idempotencyPostgresApi: postgresCredential(schema) };
let run = 0;

afterAll(async () => {
	await closeAllStores();
	await dropSchema(schema);
});

/** Runs a node with n8n's evaluator behind getNodeParameter, counting its calls per parameter. */
async function execute(
	node: { execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> },
	properties: INodeProperties[],
	parameters: Record<string, unknown>,
	items: INodeExecutionData[],
	workflowId = `wf-params-${Date.now()}-${run++}`,
) {
	const real = realNode({ parameters: { store: 'postgres', ...parameters }, properties, items, workflowId });
	const calls = new Map<string, number>();
	const base = mockContext({ items, parameters: {}, credentials, workflowId });
	const context = {
		...base,
		// the node as n8n hands it over: with the credential selected (resolveStore checks for it)
		getNode: () => ({ ...real.node, credentials: base.getNode().credentials }),
		getNodeParameter: (name: string, i: number, fallback?: unknown) => {
			calls.set(name, (calls.get(name) ?? 0) + 1);
			return real.getNodeParameter(name, i, fallback);
		},
	} as unknown as IExecuteFunctions;
	const outputs = await node.execute.call(context);
	return { outputs, calls, workflowId };
}

async function guard(parameters: Record<string, unknown>, items: INodeExecutionData[], workflowId?: string) {
	const { outputs, calls, workflowId: id } = await execute(new IdempotencyGuard(), guardProperties, { fingerprint: 'none', options: {}, ...parameters }, items, workflowId);
	const [fresh, duplicate, ambiguous] = outputs;
	return { fresh, duplicate, ambiguous, calls, workflowId: id };
}

const meta = (item: INodeExecutionData) => item.json._idempotency as Record<string, unknown>;
const items = (n: number, json: (i: number) => IDataObject): INodeExecutionData[] => Array.from({ length: n }, (_, i) => ({ json: json(i) }));

describe('Guard parameters through n8n’s evaluator', () => {
	it('evaluates the default namespace once and reads a $json key from each item', async () => {
		const input = items(40, (i) => ({ order: { id: `o-${i % 30}` } }));
		const out = await guard({ keySource: 'expression', key: '={{ $json.order.id }}' }, input);
		expect(out.fresh).toHaveLength(30);
		expect(out.duplicate).toHaveLength(10);
		expect(meta(out.fresh[0])).toMatchObject({ namespace: out.workflowId, key: 'o-0', outcome: 'new' });
		expect(meta(out.duplicate[0])).toMatchObject({ namespace: out.workflowId, key: 'o-0', reason: 'duplicate_in_batch' });
		expect(out.calls.get('namespace')).toBe(1);
		expect(out.calls.get('key') ?? 0).toBe(0);
	});

	it('keeps a per-item namespace per item and sends $json with functions to n8n', async () => {
		const input = items(6, (i) => ({ tenant: `T${i % 2}`, email: ` Person${i % 3}@X.COM ` }));
		const out = await guard({ namespace: '={{ $json.tenant }}', keySource: 'expression', key: '={{ $json.email.trim().toLowerCase() }}' }, input);
		const seen = out.fresh.map((item) => [meta(item).namespace, meta(item).key]);
		expect(seen).toEqual([
			['T0', 'person0@x.com'],
			['T1', 'person1@x.com'],
			['T0', 'person2@x.com'],
			['T1', 'person0@x.com'],
			['T0', 'person1@x.com'],
			['T1', 'person2@x.com'],
		]);
		expect(out.calls.get('namespace') ?? 0).toBe(0);
		expect(out.calls.get('key')).toBe(6);
	});

	it('routes an item whose $json key is missing to Ambiguous, as n8n’s undefined makes it', async () => {
		const input = [{ json: { order: { id: 'x-1' } } }, { json: { order: {} } }, { json: {} }];
		const out = await guard({ namespace: 'fixed-ns', keySource: 'expression', key: '={{ $json.order.id }}' }, input);
		expect(out.fresh.map((item) => meta(item).key)).toEqual(['x-1']);
		expect(out.ambiguous.map((item) => [item.pairedItem, meta(item).reason])).toEqual([
			[{ item: 1 }, 'missing_key'],
			[{ item: 2 }, 'missing_key'],
		]);
		// item 2 has no order at all: only n8n can say what a missing step gives
		expect(out.calls.get('key')).toBe(1);
		expect(out.calls.get('namespace')).toBe(1);
	});
});

describe('Ledger and Router parameters through n8n’s evaluator', () => {
	it('marks explicit keys processed with $json key, token and result read from each item', async () => {
		const workflowId = `wf-ledger-${Date.now()}`;
		const claimed = await guard({ keySource: 'fields', keyFields: 'order' }, items(20, (i) => ({ order: `L-${i}` })), workflowId);
		expect(claimed.fresh).toHaveLength(20);
		const input = claimed.fresh.map((item, i) => ({ json: { ...item.json, contactId: 1000 + i } }));
		const { outputs, calls } = await execute(
			new StateLedger(),
			ledgerProperties,
			{
				operation: 'markProcessed',
				keySource: 'explicit',
				// explicit keys have no default namespace (an admin operation names its key space)
				namespace: '={{ $workflow.id }}',
				key: '={{ $json._idempotency.key }}',
				claimToken: '={{ $json._idempotency.claimToken }}',
				result: '={{ $json.contactId }}',
				options: {},
			},
			input,
			workflowId,
		);
		const [applied, rejected] = outputs;
		expect(rejected).toHaveLength(0);
		expect(applied.map((item) => (item.json.ledger as IDataObject).key)).toEqual(input.map((_, i) => `L-${i}`));
		expect(applied.every((item) => (item.json.ledger as IDataObject).state === 'processed')).toBe(true);
		expect([calls.get('namespace'), calls.get('key') ?? 0, calls.get('claimToken') ?? 0, calls.get('result') ?? 0]).toEqual([1, 0, 0, 0]);

		const again = await guard({ keySource: 'fields', keyFields: 'order' }, [{ json: { order: 'L-3' } }], workflowId);
		expect(meta(again.duplicate[0])).toMatchObject({ reason: 'already_processed', result: 1003 });
	});

	it('evaluates a rule condition per item and a fixed fallback owner once', async () => {
		const input = items(8, (i) => ({ amount: i * 1000, _idempotency: { namespace: 'router-ns', key: `R-${i}`, outcome: 'ambiguous', reason: 'in_progress', attempt: 1 } }));
		const { outputs, calls } = await execute(
			new ExceptionRouter(),
			routerProperties,
			{
				operation: 'route',
				keySource: 'metadata',
				reason: 'fromItem',
				rules: { rule: [{ outputName: 'Big', reasons: [], condition: '={{ $json.amount > 4000 }}', owner: 'finance', severity: 'high' }] },
				fallbackOwner: 'ops',
				options: { persist: false },
			},
			input,
		);
		const [big, unrouted] = outputs;
		expect(big.map((item) => item.pairedItem)).toEqual([5, 6, 7].map((item) => ({ item })));
		expect(unrouted.map((item) => (item.json.exception as IDataObject).owner)).toEqual(Array(5).fill('ops'));
		expect(calls.get('rules.rule[0].condition')).toBe(8);
		expect(calls.get('fallbackOwner')).toBe(1);
	});
});
