/** The audit's report around the rules: reading damaged files, stable ids, acknowledgements in
 * node notes, the checklist, the summary — and our own examples audited. */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { NotAWorkflowError, acknowledgements, auditWorkflow, summarize } from '../../nodes/shared/audit';
import { post, safeInvoice, webhook, workflow } from './builder';

describe('reading workflows', () => {
	it.each([[null], ['text'], [[1, 2]], [{ name: 'x' }], [{ nodes: 'no' }]])('refuses %j with a NotAWorkflowError that says what a workflow is', (input) => {
		expect(() => auditWorkflow(input)).toThrow(NotAWorkflowError);
		expect(() => auditWorkflow(input)).toThrow(/"nodes"/);
	});
	it('reads connections keyed by node ids, and states connections to nodes that do not exist', () => {
		const wf = {
			name: 'Damaged',
			nodes: [webhook(), post()],
			connections: {
				'id-Webhook': { main: [[{ node: 'id-Create Invoice', type: 'main', index: 0 }]] },
				'id-Create Invoice': { main: [[{ node: 'error-handler-1', type: 'main', index: 0 }]] },
				ghost: { main: [[{ node: 'Webhook', type: 'main', index: 0 }]] },
			},
		};
		const audit = auditWorkflow(wf, { file: 'damaged.json' });
		expect(audit.file).toBe('damaged.json');
		expect(audit.findings.map((f) => f.rule)).toEqual(['unguarded-write']);
		expect(audit.problems).toEqual([
			'3 connection end(s) name a node by its id instead of its name; read as that node.',
			'Connections name 2 node(s) that do not exist: “error-handler-1”, “ghost”. Those connections were ignored.',
		]);
	});
	it('reads unconnected outputs saved as null, nodes without a name, and a workflow with no connections', () => {
		const { nodes, links } = safeInvoice();
		const wf = workflow(nodes, links) as unknown as { nodes: unknown[]; connections: Record<string, { main: unknown[] }> };
		wf.connections.Guard.main[1] = null;
		wf.nodes.push({ type: 'n8n-nodes-base.set' }, 'junk');
		const audit = auditWorkflow(wf);
		expect(audit.findings).toEqual([]);
		expect(audit.problems).toEqual(['2 node(s) without a name or type were skipped.']);
		expect(auditWorkflow({ name: 'Loose', nodes: [webhook(), post()] }).problems).toEqual(['The workflow has no connections: each node was audited on its own.']);
	});
});

describe('finding ids and acknowledgements', () => {
	const hazard = (notes?: string) => workflow([webhook(), post('Create Invoice', notes ? { notes } : {})], [['Webhook', 'Create Invoice']]);
	it('gives the same finding the same id in every run, and another node another id', () => {
		const a = auditWorkflow(hazard()).findings[0].id;
		expect(auditWorkflow(hazard()).findings[0].id).toBe(a);
		const renamed = workflow([webhook(), post('Create Bill')], [['Webhook', 'Create Bill']]);
		expect(auditWorkflow(renamed).findings[0].id).not.toBe(a);
		expect(a).toMatch(/^[0-9a-f]{16}$/);
	});
	it('marks a finding acknowledged by a note on its node, keeps it, and leaves it out of the counts', () => {
		const audit = auditWorkflow(hazard('Posts drafts only.\nidempotency-audit: accept unguarded-write — the ledger API dedupes on invoice number'));
		expect(audit.findings[0]).toMatchObject({ rule: 'unguarded-write', acknowledged: true, acknowledgement: 'the ledger API dedupes on invoice number' });
		expect(summarize([audit]).summary).toEqual({ workflows: 1, must: 0, should: 0, info: 0, acknowledged: 1 });
		expect(audit.checklist.checkBeforeWrite).toBe('ok');
	});
	it('does not acknowledge another rule, or a rule id it does not know', () => {
		expect(auditWorkflow(hazard('idempotency-audit: accept retry-on-fail-write — n/a')).findings[0].acknowledged).toBeUndefined();
		expect([...acknowledgements('idempotency-audit: accept unguarded-writes').keys()]).toEqual([]);
		expect([...acknowledgements('idempotency-audit: accept unknown-write, racy-dedup: reads only').entries()]).toEqual([
			['unknown-write', 'reads only'],
			['racy-dedup', 'reads only'],
		]);
	});
});

describe('checklist and summary', () => {
	it('is n/a throughout for a workflow with no write, and missing where the hazard is', () => {
		expect(Object.values(auditWorkflow(workflow([webhook()], [])).checklist)).toEqual(Array(6).fill('n/a'));
		expect(auditWorkflow(workflow([webhook(), post()], [['Webhook', 'Create Invoice']])).checklist).toEqual({
			writesMapped: 'ok',
			retrySources: 'ok',
			businessKey: 'missing',
			checkBeforeWrite: 'missing',
			stateLedger: 'missing',
			failureOwnership: 'missing',
		});
	});
	it('counts findings by severity and keeps the errors', () => {
		const report = summarize([auditWorkflow(workflow([webhook(), post()], [['Webhook', 'Create Invoice']]))], [{ file: 'x.json', message: 'invalid JSON' }]);
		expect(report).toMatchObject({ version: 1, errors: [{ file: 'x.json', message: 'invalid JSON' }], summary: { workflows: 1, must: 1, should: 0, info: 0 } });
	});
});

describe('our own examples', () => {
	const dir = join(__dirname, '..', '..', 'examples');
	// No `must`, even accepted; anything else found is accepted on its node with the reason written there.
	it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))('%s has no must, and every other finding is explained on its node', (file) => {
		const audit = auditWorkflow(JSON.parse(readFileSync(join(dir, file), 'utf8')), { file });
		expect(audit.findings.filter((f) => f.severity === 'must')).toEqual([]);
		expect(audit.findings.filter((f) => !f.acknowledged || !f.acknowledgement)).toEqual([]);
		expect(audit.problems).toBeUndefined();
	});
	it('audits the invoice, lead and agent-tool examples with no finding at all', () => {
		for (const file of ['invoice-posting.json', 'lead-intake.json', 'agent-tool-create-invoice.json']) {
			const audit = auditWorkflow(JSON.parse(readFileSync(join(dir, file), 'utf8')), { file });
			expect(audit.findings).toEqual([]);
			expect(Object.values(audit.checklist)).toEqual(Array(6).fill('ok'));
		}
	});
});
