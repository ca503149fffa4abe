/** Whatever a file holds, the audit answers or says it is not a workflow — it never crashes:
 * arbitrary values where nodes, parameters and connections should be. */
import fc from 'fast-check';
import { NotAWorkflowError, auditWorkflow } from '../../nodes/shared/audit';

const names = fc.constantFrom('Webhook', 'Guard', 'Create', 'Mark', 'id-1', '__proto__', 'constructor', '');
const types = fc.constantFrom(
	'n8n-nodes-base.webhook',
	'n8n-nodes-idempotency.idempotencyGuard',
	'n8n-nodes-idempotency.stateLedger',
	'n8n-nodes-base.httpRequest',
	'n8n-nodes-base.hubspotTool',
	'n8n-nodes-base.postgres',
	'n8n-nodes-base.set',
	'n8n-nodes-base.removeDuplicates',
	'@n8n/n8n-nodes-langchain.agent',
	'vendor.thing',
);
const anything = fc.anything({ maxDepth: 3 });
const node = fc.record(
	{
		id: fc.oneof(names, anything),
		name: fc.oneof(names, anything),
		type: fc.oneof(types, anything),
		typeVersion: fc.oneof(fc.constantFrom(1, 2, 4.2), anything),
		disabled: fc.oneof(fc.boolean(), anything),
		parameters: fc.oneof(
			fc.record({ method: fc.constantFrom('POST', '=POST', '={{ $json.m }}', 3), operation: anything, keySource: anything, key: anything, keyFields: anything, url: anything }, { requiredKeys: [] }),
			anything,
		),
		onError: fc.oneof(fc.constantFrom('continueErrorOutput', 'continueRegularOutput', 'stopWorkflow'), anything),
		retryOnFail: anything,
		notes: anything,
	},
	{ requiredKeys: [] },
);
const target = fc.oneof(fc.record({ node: fc.oneof(names, anything), type: fc.oneof(fc.constantFrom('main', 'ai_tool'), anything), index: fc.oneof(fc.nat(3), anything) }, { requiredKeys: [] }), anything);
const connections = fc.oneof(
	fc.dictionary(names, fc.dictionary(fc.constantFrom('main', 'ai_tool', 'x'), fc.oneof(fc.array(fc.oneof(fc.array(target, { maxLength: 3 }), fc.constant(null), anything), { maxLength: 4 }), anything))),
	anything,
);

describe('robustness', () => {
	it('audits or refuses any shape, never crashes', () => {
		fc.assert(
			fc.property(fc.record({ name: anything, id: anything, nodes: fc.oneof(fc.array(fc.oneof(node, anything), { maxLength: 8 }), anything), connections }, { requiredKeys: [] }), (input) => {
				try {
					const audit = auditWorkflow(input);
					expect(typeof audit.name).toBe('string');
					expect(Array.isArray(audit.findings)).toBe(true);
				} catch (error) {
					expect(error).toBeInstanceOf(NotAWorkflowError);
				}
			}),
			{ numRuns: 2000 },
		);
	});
});

describe('hostile names', () => {
	it('reads an input index no node has (10^15, negative, fractional) as input 0 and says so, instead of running out of memory', () => {
		// n8n-workflow's helpers make an array as long as the highest input index: 10^15 (found by
		// the property test above, one random seed in ten) exhausted the heap.
		const wf = (index: number) => ({
			name: 'x',
			nodes: [
				{ name: 'Webhook', type: 'n8n-nodes-base.webhook' },
				{ name: 'Create', type: 'n8n-nodes-base.httpRequest', parameters: { method: 'POST' } },
			],
			connections: { Webhook: { main: [[{ node: 'Create', type: 'main', index }]] } },
		});
		for (const index of [1029488654908103, -5385935694741076, 0.5, 1000]) {
			const audit = auditWorkflow(wf(index));
			expect(audit.findings.map((f) => [f.rule, f.node])).toEqual([['unguarded-write', 'Create']]);
			expect(audit.problems).toEqual(['1 connection end(s) have an input index no node has (negative, fractional or 1000 and above); read as input 0.']);
		}
		expect(auditWorkflow(wf(999)).problems).toBeUndefined();
	});

	it('reads a node named __proto__ from a file without touching Object.prototype', () => {
		const text =
			'{"name":"x","nodes":[{"name":"__proto__","type":"n8n-nodes-base.webhook"},{"name":"B","type":"n8n-nodes-base.httpRequest","parameters":{"method":"POST"}}],' +
			'"connections":{"__proto__":{"main":[[{"node":"B","type":"main","index":0}]]},"B":{"main":[[{"node":"__proto__","type":"main","index":0}]]}}}';
		const audit = auditWorkflow(JSON.parse(text));
		expect(({} as Record<string, unknown>).main).toBeUndefined();
		expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'main')).toBe(false);
		expect(audit.findings.map((f) => [f.rule, f.node])).toEqual([['unguarded-write', 'B']]);
	});
});
