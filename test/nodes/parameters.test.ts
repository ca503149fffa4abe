// The Guard with n8n's real expression engine behind getNodeParameter (test/helpers/n8nEvaluator)
// and the real Postgres store: default namespace, a $json key expression and a per-item
// namespace route exactly as n8n evaluates them, and the evaluator runs only where an item can
// change the value.

import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { guardProperties } from '../../nodes/IdempotencyGuard/description';
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

async function guard(parameters: Record<string, unknown>, items: INodeExecutionData[]) {
	const workflowId = `wf-params-${Date.now()}-${run++}`;
	const real = realNode({ parameters: { store: 'postgres', fingerprint: 'none', options: {}, ...parameters }, properties: guardProperties, items, workflowId });
	const calls = new Map<string, number>();
	const base = mockContext({ items, parameters: {}, credentials, workflowId });
	const context = {
		...base,
		getNode: () => real.node,
		getNodeParameter: (name: string, i: number, fallback?: unknown) => {
			calls.set(name, (calls.get(name) ?? 0) + 1);
			return real.getNodeParameter(name, i, fallback);
		},
	} as unknown as IExecuteFunctions;
	const [fresh, duplicate, ambiguous] = await new IdempotencyGuard().execute.call(context);
	return { fresh, duplicate, ambiguous, calls, workflowId };
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
