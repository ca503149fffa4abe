// The per-item parameter fast path against n8n's own evaluator: every expression of the corpus,
// on every item, gives what n8n-workflow's engines give (legacy, QuickJS; under Node 24 also
// isolated-vm, n8n's default), and the evaluator is skipped where the item cannot matter or a
// plain $json path answers.

import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { isItemIndependent, jsonPathOf, ParameterReader } from '../../nodes/shared/n8n/parameters';
import { ENGINES, realNode, stopEngine, useEngine } from '../helpers/n8nEvaluator';
import { guardProperties } from '../../nodes/IdempotencyGuard/actions/versionDescription';
import { ledgerProperties } from '../../nodes/StateLedger/actions/versionDescription';
import { routerProperties } from '../../nodes/ExceptionRouter/actions/versionDescription';

const PROPERTIES: INodeProperties[] = [{ displayName: 'Key', name: 'key', type: 'string', default: '' }];

const ITEMS: INodeExecutionData[] = [
	{ json: { order: { id: 'A-1' }, body: { email: ' X@y.com ' }, items: [{ id: 1 }, { id: 2 }], tenant: 't1', key: 'k1', a: 'Hello', b: 'B', n: 1.5, flag: false, obj: { p: 1 }, arr: [1, 2], s: 'str', $json: 'shadow', 'with space': 'sp', 0: 'zero', email: ' e ' } },
	{ json: { order: { id: 42 }, tenant: 't2', a: null, n: -0, items: [], arr: [], key: 7 } },
	{ json: { order: null, a: undefined, body: { email: null }, tenant: null } },
	{ json: { order: 'string-not-object', items: 'x', a: 0, b: '', tenant: 0, key: '' } },
	{ json: {} },
	{ json: { order: { id: { nested: true } }, items: [null], a: ['x'], tenant: '', key: true } },
	{ json: { a: { b: { c: 'deep' } }, obj: null, n: Number.NaN, key: 1e21 } },
	{ json: { toString: 'own toString', valueOf: 3, hasOwnProperty: 'h' } },
	{ json: JSON.parse('{"__proto__": {"x": 1}, "constructor": "c", "order": {"__proto__": {"id": "inherited"}}}') as INodeExecutionData['json'] },
	{ json: { d: new Date(0), order: { id: 'ünï·cödé 🎉' }, items: [{ id: 'x', extra: [1] }], tenant: 'T', $item: 'dollar-item' } },
	{ json: { order: { id: 'A-1' }, a: 'Hello', tenant: 't1', key: 'k1', body: { email: 'b@c.d' } } },
];

// Whole-parameter $json paths (fast path), $json with functions and concatenations (evaluator),
// item-independent expressions (once), plain values (once), and per-item forms of all kinds.
const CORPUS: string[] = [
	'={{ $json.order.id }}',
	'={{$json.order.id}}',
	'={{ $json["body"].email }}',
	"={{ $json['body']['email'] }}",
	'={{ $json.items[0].id }}',
	'={{ $json.items[1] }}',
	'={{ $json.items.length }}',
	'={{ $json.tenant }}',
	'={{ $json.key }}',
	'={{ $json.a.b.c }}',
	'={{ $json.n }}',
	'={{ $json.flag }}',
	'={{ $json.nothing }}',
	'={{ $json.nothing.deeper }}',
	'={{ $json.obj }}',
	'={{ $json.obj.p }}',
	'={{ $json.arr }}',
	'={{ $json.s.length }}',
	'={{ $json.toString }}',
	'={{ $json.valueOf }}',
	'={{ $json.hasOwnProperty }}',
	'={{ $json.__proto__ }}',
	'={{ $json.constructor }}',
	'={{ $json.order.__proto__ }}',
	'={{ $json["$json"] }}',
	'={{ $json.$json }}',
	'={{ $json.$item }}',
	'={{ $json["with space"] }}',
	'={{ $json["0"] }}',
	'={{ $json[0] }}',
	'={{ $json.d }}',
	'={{ $json.a.toLowerCase() }}',
	'={{ $json.body.email.trim() }}',
	'={{ $json.a }}-x',
	'=x-{{ $json.a }}',
	'= {{ $json.a }}',
	'={{ $json.a }} ',
	'={{ $json.a }}{{ $json.b }}',
	'={{ $json.a || "none" }}',
	'={{ $json.a ?? $json.b }}',
	'={{ $json.a?.b }}',
	'={{ $json["a"]["b"] }}',
	'={{ $json.items.map(i => i.id).join(",") }}',
	'={{ $input.item.json.a }}',
	'={{ $json }}',
	'={{ $itemIndex }}',
	'={{ "t-" + $json.tenant }}',
	'={{ $workflow.id }}',
	'={{ $workflow.name }}',
	'=orders-{{ $workflow.id }}',
	'={{ "orders-" + $workflow.id }}',
	'={{ $workflow.name.toLowerCase() }}',
	'={{ $workflow.id }}:{{ $execution.mode }}',
	'={{ $execution.id }}',
	'={{ $vars.ns }}',
	'={{ $vars.ns ? $vars.ns : "fallback" }}',
	'={{ $workflow["id"] }}',
	'={{ $workflow.constructor }}',
	'=plain text',
	'=',
	'orders',
	'',
	'{{ $json.a }}',
];

// Per call in n8n, so never shared: only their classification is checked.
const PER_CALL = ['={{ $now }}', '={{ $today }}', '={{ Math.random() }}', '={{ $json.items.randomItem() }}', '={{ $execution.customData.get("a") }}', '={{ $("Make items").item.json.key }}', '={{ $vars.a = 1 }}', '={{ $runIndex + $json.n }}', '={{ [1,2].randomItem() }}', '={{ $workflow.id.split("").map(c => $json.a) }}'];

type Outcome = { value: unknown } | { error: string };
function outcome(read: () => unknown): Outcome {
	try {
		return { value: read() };
	} catch (error) {
		return { error: (error as Error).message };
	}
}

function expectSame(actual: Outcome, expected: Outcome, label: string): void {
	if ('error' in expected) {
		expect({ label, ...actual }).toEqual({ label, error: expected.error });
	} else if ('error' in actual) {
		expect({ label, error: actual.error }).toEqual({ label, ...expected });
	} else if (expected.value !== null && typeof expected.value === 'object') {
		expect({ label, value: actual.value }).toEqual({ label, value: expected.value });
	} else {
		// Object.is: -0, NaN and undefined vs null must match exactly too
		expect({ label, same: Object.is(actual.value, expected.value), actual: actual.value }).toEqual({ label, same: true, actual: expected.value });
	}
}

function contextOf(real: ReturnType<typeof realNode>, items: INodeExecutionData[]): IExecuteFunctions {
	return {
		getNode: () => real.node,
		getInputData: () => items,
		getNodeParameter: (name: string, i: number, fallback?: unknown) => real.getNodeParameter(name, i, fallback),
	} as unknown as IExecuteFunctions;
}

describe.each(ENGINES)('parameters on the %s engine give what n8n gives', (engine) => {
	beforeAll(async () => useEngine(engine), 30_000);
	afterAll(async () => stopEngine());

	it.each(CORPUS)('%s, item by item', async (expression) => {
		const expectedNode = realNode({ parameters: { key: expression }, properties: PROPERTIES, items: ITEMS });
		const fastNode = realNode({ parameters: { key: expression }, properties: PROPERTIES, items: ITEMS });
		await expectedNode.acquire();
		await fastNode.acquire();
		try {
			const reader = new ParameterReader(contextOf(fastNode, ITEMS), ITEMS);
			for (let i = 0; i < ITEMS.length; i++) {
				const expected = outcome(() => expectedNode.getNodeParameter('key', i, ''));
				const actual = outcome(() => reader.get('key', i, ''));
				expectSame(actual, expected, `${expression} item ${i}`);
			}
		} finally {
			await expectedNode.release();
			await fastNode.release();
		}
	});

	it('reads a plain $json path without the evaluator when the item has a primitive there', async () => {
		const real = realNode({ parameters: { key: '={{ $json.order.id }}' }, properties: PROPERTIES, items: ITEMS });
		await real.acquire();
		try {
			const reader = new ParameterReader(contextOf(real, ITEMS), ITEMS);
			expect(reader.get('key', 0, '')).toBe('A-1');
			expect(reader.get('key', 1, '')).toBe(42);
			expect(reader.get('key', 4, '')).toBeUndefined(); // order absent on {}: still the evaluator (a missing step)
			expect(real.calls).toBe(1);
		} finally {
			await real.release();
		}
	});

	it('evaluates the default namespace once for all items', async () => {
		const items = Array.from({ length: 50 }, (_, i) => ({ json: { key: `k${i}` } }));
		const real = realNode({ parameters: { key: '={{ $workflow.id }}' }, properties: PROPERTIES, items, workflowId: 'wf-once' });
		await real.acquire();
		try {
			const reader = new ParameterReader(contextOf(real, items), items);
			for (let i = 0; i < items.length; i++) expect(reader.get('key', i, '')).toBe('wf-once');
			expect(real.calls).toBe(1);
		} finally {
			await real.release();
		}
	});
});

describe('parameter classification', () => {
	it.each(PER_CALL)('%s stays per item', (expression) => {
		expect(isItemIndependent(expression)).toBe(false);
		expect(jsonPathOf(expression)).toBeNull();
	});

	it('shares item-independent expressions and reads whole $json paths', () => {
		expect(isItemIndependent('={{ $workflow.id }}')).toBe(true);
		expect(isItemIndependent('=orders-{{ $workflow.id }}-{{ $vars.env.toLowerCase() }}')).toBe(true);
		expect(isItemIndependent('={{ $json.a }}')).toBe(false);
		expect(jsonPathOf('={{ $json["body"].email }}')).toEqual(['body', 'email']);
		expect(jsonPathOf('={{ $json.items[0].id }}')).toEqual(['items', '0', 'id']);
		expect(jsonPathOf('={{ $json.a }}-x')).toBeNull();
		expect(jsonPathOf('={{ $json.__proto__.x }}')).toBeNull();
	});

	it('asks n8n per item for a parameter the raw node does not hold', () => {
		let calls = 0;
		const ctx = {
			getNode: () => ({ parameters: {} }),
			getInputData: () => [],
			getNodeParameter: (_name: string, i: number) => {
				calls++;
				return `v${i}`;
			},
		} as unknown as IExecuteFunctions;
		const reader = new ParameterReader(ctx, []);
		expect([reader.get('key', 0), reader.get('key', 1)]).toEqual(['v0', 'v1']);
		expect(calls).toBe(2);
	});

	it("no property of the three nodes has validateType (n8n-core's schema check is then a no-op)", () => {
		const walk = (props: unknown[]): string[] =>
			props.flatMap((p) => {
				const prop = p as { name: string; validateType?: string; options?: unknown[]; values?: unknown[]; type?: string };
				const nested = prop.type === 'collection' || prop.type === 'fixedCollection' ? walk(prop.options ?? []) : prop.values ? walk(prop.values) : [];
				return [...(prop.validateType ? [prop.name] : []), ...nested];
			});
		expect(walk([...guardProperties, ...ledgerProperties, ...routerProperties])).toEqual([]);
	});
});
