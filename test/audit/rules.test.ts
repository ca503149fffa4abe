/** Each rule of the idempotency audit: a workflow with the hazard, and a near-twin without it. */
import { auditWorkflow } from '../../nodes/shared/audit';
import type { Finding, RuleId } from '../../nodes/shared/audit';
import { app, guard, ifNode, ledger, manual, post, router, safeInvoice, schedule, set, slackPost, webhook, workflow } from './builder';
import type { Link } from './builder';

const findings = (wf: unknown, rule?: RuleId): Finding[] => auditWorkflow(wf).findings.filter((f) => !rule || f.rule === rule);
const one = (wf: unknown, rule: RuleId): Finding => {
	const found = findings(wf, rule);
	expect(found).toHaveLength(1);
	return found[0];
};

describe('the safe pattern', () => {
	it('finds nothing in New → write → Mark Processed with errors and Ambiguous owned', () => {
		const { nodes, links } = safeInvoice();
		const audit = auditWorkflow(workflow(nodes, links));
		expect(audit.findings).toEqual([]);
		expect(audit.writes).toEqual(['Create Invoice']);
		expect(audit.triggers).toEqual(['Webhook']);
		expect(Object.values(audit.checklist)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
	});
});

describe('unguarded-write', () => {
	it('flags a POST no Guard comes before, naming the path and the fix', () => {
		const f = one(workflow([webhook(), set('Map fields'), post()], [['Webhook', 'Map fields'], ['Map fields', 'Create Invoice']]), 'unguarded-write');
		expect(f).toMatchObject({ severity: 'must', node: 'Create Invoice' });
		expect(f.message).toContain('“Webhook” → “Map fields” → “Create Invoice”');
		expect(f.fix).toContain('Add an Idempotency Guard before “Create Invoice”');
	});
	it('flags a write on the Guard’s Duplicate output', () => {
		const { nodes, links } = safeInvoice();
		nodes.push(post('Second write', { onError: 'continueErrorOutput' }));
		const f = one(workflow(nodes, [...links, ['Guard', 'Second write', 1]]), 'unguarded-write');
		expect(f.node).toBe('Second write');
		expect(f.fix).toContain('New output instead');
	});
	it('flags a write behind a disabled Guard (a disabled node passes items through)', () => {
		const { nodes, links } = safeInvoice();
		nodes[1] = guard('Guard', undefined, { disabled: true });
		expect(one(workflow(nodes, links), 'unguarded-write').node).toBe('Create Invoice');
	});
	it('follows items through a disabled node to the write', () => {
		const wf = workflow([webhook(), set('Off', { disabled: true }), post()], [['Webhook', 'Off'], ['Off', 'Create Invoice']]);
		expect(one(wf, 'unguarded-write').node).toBe('Create Invoice');
	});
	it('flags a write a Merge feeds from a path around the Guard', () => {
		const { nodes, links } = safeInvoice();
		const merged: Link[] = links.filter(([from, to]) => !(from === 'Guard' && to === 'Create Invoice'));
		nodes.push(app('Merge', 'n8n-nodes-base.merge', {}, { typeVersion: 3 }));
		const wf = workflow(nodes, [...merged, ['Guard', 'Merge', 0], ['Webhook', 'Merge'], ['Merge', 'Create Invoice']]);
		expect(one(wf, 'unguarded-write').message).toContain('“Webhook” → “Merge” → “Create Invoice”');
	});
	it('accepts writes inside a loop and in both IF branches behind the New output', () => {
		const loop = app('Loop Over Items', 'n8n-nodes-base.splitInBatches', {}, { typeVersion: 3 });
		const nodes = [webhook(), guard(), loop, ifNode('Big?'), post('Create A', { onError: 'continueErrorOutput' }), post('Create B', { onError: 'continueErrorOutput' }), ledger('Mark Processed'), router(), ledger('Mark Failed', 'markFailed')];
		const links: Link[] = [
			['Webhook', 'Guard'],
			['Guard', 'Loop Over Items', 0],
			['Guard', 'Route exception', 2],
			['Loop Over Items', 'Big?', 1],
			['Big?', 'Create A', 0],
			['Big?', 'Create B', 1],
			['Create A', 'Mark Processed'],
			['Create B', 'Mark Processed'],
			['Create A', 'Route exception', 1],
			['Create B', 'Route exception', 1],
			['Mark Processed', 'Loop Over Items'],
		];
		expect(findings(workflow(nodes, links))).toEqual([]);
		// The twin: the loop fed straight from the trigger.
		const open = links.map((link): Link => (link[0] === 'Guard' && link[1] === 'Loop Over Items' ? ['Webhook', 'Loop Over Items'] : link));
		expect(findings(workflow(nodes, open), 'unguarded-write').map((f) => f.node).sort()).toEqual(['Create A', 'Create B']);
	});
	it('ignores a write no trigger reaches, and a disabled write', () => {
		expect(findings(workflow([webhook(), post()], []))).toEqual([]);
		expect(findings(workflow([webhook(), post('Create Invoice', { disabled: true })], [['Webhook', 'Create Invoice']]))).toEqual([]);
	});
	it('is should, not must, for a workflow only a person starts', () => {
		expect(one(workflow([manual(), post()], [['Manual', 'Create Invoice']]), 'unguarded-write').severity).toBe('should');
		expect(one(workflow([schedule(), post()], [['Schedule', 'Create Invoice']]), 'unguarded-write').severity).toBe('must');
	});
	it('is should for a notification, and nothing after an Exception Router output', () => {
		// A Slack node saved without resource/operation posts a message (n8n's defaults).
		expect(one(workflow([webhook(), slackPost()], [['Webhook', 'Tell Slack']]), 'unguarded-write').severity).toBe('should');
		const wf = workflow([webhook(), guard(), router(), slackPost(), post('Create Invoice', { onError: 'continueErrorOutput' }), ledger('Mark Processed'), ledger('Mark Failed', 'markFailed')], [
			['Webhook', 'Guard'],
			['Guard', 'Create Invoice', 0],
			['Guard', 'Route exception', 2],
			['Route exception', 'Tell Slack', 0],
			['Create Invoice', 'Mark Processed'],
			['Create Invoice', 'Route exception', 1],
		]);
		expect(findings(wf)).toEqual([]);
	});
	it('does not count reads, model calls, GraphQL queries, upserts and updates as unguarded writes', () => {
		const nodes = [
			webhook(),
			app('Get', 'n8n-nodes-base.httpRequest', { url: 'https://crm.example.com/x' }, { typeVersion: 4.2 }),
			app('Old get', 'n8n-nodes-base.httpRequest', { url: 'https://crm.example.com/x' }, { typeVersion: 1 }),
			post('Ask the model', {}, { url: 'https://api.openai.com/v1/chat/completions' }),
			post('Search', {}, { url: 'https://crm.example.com/api/contacts/search' }),
			post('GraphQL', {}, { url: 'https://shop.example.com/graphql', jsonBody: '{"query":"query { orders { id } }"}' }),
			app('Upsert contact', 'n8n-nodes-base.hubspot', {}, { typeVersion: 2 }), // v2 default: contact upsert
			app('Update row', 'n8n-nodes-base.googleSheets', { operation: 'update' }, { typeVersion: 4.5 }),
			app('Read rows', 'n8n-nodes-base.googleSheets', {}, { typeVersion: 4.5 }), // default: read
		];
		const wf = workflow(nodes, nodes.slice(1).map((n): Link => ['Webhook', n.name]));
		const audit = auditWorkflow(wf);
		expect(audit.findings).toEqual([]);
		expect(audit.writes.sort()).toEqual(['Update row', 'Upsert contact']);
	});
	it('flags an app node create, a Sheets append and a GraphQL mutation', () => {
		const nodes = [
			webhook(),
			app('Create deal', 'n8n-nodes-base.hubspot', { resource: 'deal', operation: 'create' }, { typeVersion: 2 }),
			app('Append row', 'n8n-nodes-base.googleSheets', { operation: 'append' }, { typeVersion: 4.5 }),
			post('Mutation', {}, { url: 'https://shop.example.com/graphql', jsonBody: '{"query":"mutation { createOrder { id } }"}' }),
		];
		const wf = workflow(nodes, nodes.slice(1).map((n): Link => ['Webhook', n.name]));
		expect(findings(wf, 'unguarded-write').map((f) => [f.node, f.severity])).toEqual([
			['Create deal', 'must'],
			['Append row', 'must'],
			['Mutation', 'must'],
		]);
	});
});

describe('app nodes behind the Guard', () => {
	it.each([
		['HubSpot deal', 'n8n-nodes-base.hubspot', { resource: 'deal', operation: 'create' }, 2],
		['QuickBooks invoice', 'n8n-nodes-base.quickbooks', { resource: 'invoice', operation: 'create' }, 1],
		['Xero invoice (defaults)', 'n8n-nodes-base.xero', {}, 1],
		['Stripe charge', 'n8n-nodes-base.stripe', { resource: 'charge', operation: 'create' }, 1],
		['Postgres insert (defaults)', 'n8n-nodes-base.postgres', {}, 2.5],
	])('%s: clean when wired like the examples, must when its errors stop the workflow', (_label, type, parameters, typeVersion) => {
		const wired = app('Create Invoice', type, parameters, { typeVersion, onError: 'continueErrorOutput' });
		const { nodes, links } = safeInvoice(wired);
		expect(findings(workflow(nodes, links))).toEqual([]);
		const { nodes: bare, links: bareLinks } = safeInvoice(app('Create Invoice', type, parameters, { typeVersion }));
		const wf = workflow(bare, bareLinks.filter(([from, , output]) => !(from === 'Create Invoice' && output === 1)));
		expect(one(wf, 'write-error-unhandled').severity).toBe('must');
		expect(findings(workflow([webhook(), app('Create Invoice', type, parameters, { typeVersion })], [['Webhook', 'Create Invoice']]), 'unguarded-write')[0].severity).toBe('must');
	});
});

describe('retry-on-fail-write', () => {
	it('flags Retry On Fail on a create, even behind a Guard', () => {
		const { nodes, links } = safeInvoice(post('Create Invoice', { onError: 'continueErrorOutput', retryOnFail: true }));
		expect(one(workflow(nodes, links), 'retry-on-fail-write')).toMatchObject({ severity: 'must', node: 'Create Invoice' });
	});
	it('accepts it on a request that sends the Guard’s key as Idempotency-Key', () => {
		const write = post('Create Invoice', { onError: 'continueErrorOutput', retryOnFail: true }, {
			sendHeaders: true,
			headerParameters: { parameters: [{ name: 'Idempotency-Key', value: '={{ $json._idempotency.key }}' }] },
		});
		const { nodes, links } = safeInvoice(write);
		expect(findings(workflow(nodes, links))).toEqual([]);
		expect(auditWorkflow(workflow(nodes, links)).writeDetails[0].idempotent).toBe(true);
	});
	it('does not accept an Idempotency-Key made from the execution', () => {
		const write = post('Create Invoice', { onError: 'continueErrorOutput', retryOnFail: true }, {
			headerParameters: { parameters: [{ name: 'Idempotency-Key', value: '={{ $execution.id }}' }] },
		});
		const { nodes, links } = safeInvoice(write);
		expect(one(workflow(nodes, links), 'retry-on-fail-write').severity).toBe('must');
	});
});

describe('claim-not-settled', () => {
	it('flags a guarded write with no Mark Processed after it', () => {
		const { nodes, links } = safeInvoice();
		const wf = workflow(nodes.filter((n) => n.name !== 'Mark Processed'), links.filter(([, to]) => to !== 'Mark Processed'));
		expect(one(wf, 'claim-not-settled')).toMatchObject({ severity: 'must', node: 'Create Invoice' });
	});
	it('flags Mark Processed placed before the write', () => {
		const { nodes, links } = safeInvoice();
		const moved: Link[] = links
			.filter(([from, to]) => !(from === 'Create Invoice' && to === 'Mark Processed') && !(from === 'Guard' && to === 'Create Invoice'))
			.concat([['Guard', 'Mark Processed', 0], ['Mark Processed', 'Create Invoice']]);
		const f = one(workflow(nodes, moved), 'claim-not-settled');
		expect(f.message).toContain('before “Create Invoice” writes');
	});
});

describe('write-error-unhandled', () => {
	it('flags a guarded write whose errors stop the workflow', () => {
		const { nodes, links } = safeInvoice(post('Create Invoice'));
		const wf = workflow(nodes, links.filter(([from, , output]) => !(from === 'Create Invoice' && output === 1)));
		expect(one(wf, 'write-error-unhandled')).toMatchObject({ severity: 'must', node: 'Create Invoice' });
	});
	it('flags an error output with nothing connected', () => {
		const { nodes, links } = safeInvoice();
		const wf = workflow(nodes, links.filter(([from, , output]) => !(from === 'Create Invoice' && output === 1)));
		expect(one(wf, 'write-error-unhandled').message).toContain('nothing is connected there');
	});
});

describe('failed-write-settled-as-processed', () => {
	it('flags errors continuing through the regular output into Mark Processed', () => {
		const { nodes, links } = safeInvoice(post('Create Invoice', { onError: 'continueRegularOutput' }));
		expect(one(workflow(nodes, links), 'failed-write-settled-as-processed').severity).toBe('must');
	});
	it('accepts an IF that separates errors before Mark Processed', () => {
		const { nodes, links } = safeInvoice(post('Create Invoice', { onError: 'continueRegularOutput' }));
		nodes.push(ifNode('Failed?'));
		const wf = workflow(nodes, [
			...links.filter(([from, to]) => !(from === 'Create Invoice' && to === 'Mark Processed')),
			['Create Invoice', 'Failed?'],
			['Failed?', 'Mark Failed', 0],
			['Failed?', 'Mark Processed', 1],
		]);
		expect(findings(wf, 'failed-write-settled-as-processed')).toEqual([]);
	});
});

describe('timeout-retried-as-failure', () => {
	it('flags every error of a create going to Mark Failed', () => {
		const { nodes, links } = safeInvoice();
		const wf = workflow(nodes, [...links.filter(([from, , output]) => !(from === 'Create Invoice' && output === 1)), ['Create Invoice', 'Mark Failed', 1]]);
		expect(one(wf, 'timeout-retried-as-failure')).toMatchObject({ severity: 'must', node: 'Create Invoice' });
	});
	it('accepts timeouts sent to a person by an IF first (the examples’ wiring)', () => {
		const { nodes, links } = safeInvoice();
		expect(findings(workflow(nodes, links), 'timeout-retried-as-failure')).toEqual([]);
	});
});

describe('unstable-key', () => {
	it.each([['={{ $execution.id }}'], ['={{ $json.body.id + $now }}'], ['={{ Date.now() }}'], ['={{ Math.random() }}'], ['={{ $itemIndex }}'], ['={{ $runIndex }}']])(
		'flags a key built with %s',
		(key) => {
			const { nodes, links } = safeInvoice();
			nodes[1] = guard('Guard', { keySource: 'expression', key });
			expect(one(workflow(nodes, links), 'unstable-key')).toMatchObject({ severity: 'must', node: 'Guard' });
		},
	);
	it('flags a key field an Edit Fields node before the Guard fills from the execution', () => {
		const { nodes, links } = safeInvoice();
		nodes.push(set('Add id', { parameters: { assignments: { assignments: [{ name: 'requestId', value: '={{ $execution.id }}', type: 'string' }] } } }));
		nodes[1] = guard('Guard', { keySource: 'fields', keyFields: 'requestId' });
		const wf = workflow(nodes, [...links.filter(([from]) => from !== 'Webhook'), ['Webhook', 'Add id'], ['Add id', 'Guard']]);
		expect(one(wf, 'unstable-key').message).toContain('key field requestId, set by “Add id”, uses $execution');
		// The twin: the field copied from the event.
		nodes[nodes.length - 1] = set('Add id', { parameters: { assignments: { assignments: [{ name: 'requestId', value: '={{ $json.body.id }}', type: 'string' }] } } });
		expect(findings(workflow(nodes, [...links.filter(([from]) => from !== 'Webhook'), ['Webhook', 'Add id'], ['Add id', 'Guard']]))).toEqual([]);
	});
	it('accepts a key from the event’s fields', () => {
		const { nodes, links } = safeInvoice();
		nodes[1] = guard('Guard', { keySource: 'expression', key: '={{ $json.body.supplierId + "/" + $json.body.invoiceNumber }}' });
		expect(findings(workflow(nodes, links))).toEqual([]);
	});
});

describe('ambiguous-dropped', () => {
	it('flags a Guard whose Ambiguous output is not connected', () => {
		const { nodes, links } = safeInvoice();
		const wf = workflow(nodes, links.filter(([from, , output]) => !(from === 'Guard' && output === 2)));
		expect(one(wf, 'ambiguous-dropped')).toMatchObject({ severity: 'must', node: 'Guard' });
	});
});

describe('agent-tool-write', () => {
	const agentWith = (tool: ReturnType<typeof app>) =>
		workflow(
			[app('Chat', '@n8n/n8n-nodes-langchain.chatTrigger'), app('Agent', '@n8n/n8n-nodes-langchain.agent'), tool],
			[['Chat', 'Agent'], [tool.name, 'Agent', 0, 'ai_tool']],
		);
	it('flags a create attached to an agent as a tool', () => {
		const f = one(agentWith(app('Create deal', 'n8n-nodes-base.hubspotTool', { resource: 'deal', operation: 'create' }, { typeVersion: 2 })), 'agent-tool-write');
		expect(f).toMatchObject({ severity: 'must', node: 'Create deal' });
		expect(f.fix).toContain('Call n8n Workflow Tool');
		expect(findings(agentWith(app('Create deal', 'n8n-nodes-base.hubspotTool', { resource: 'deal', operation: 'create' })), 'unguarded-write')).toEqual([]);
	});
	it('accepts a sub-workflow tool and a read tool', () => {
		expect(findings(agentWith(app('Invoice tool', '@n8n/n8n-nodes-langchain.toolWorkflow', { workflowId: 'x' })))).toEqual([]);
		expect(findings(agentWith(app('Find deal', 'n8n-nodes-base.hubspotTool', { resource: 'deal', operation: 'search' })))).toEqual([]);
	});
});

describe('racy-dedup', () => {
	it('flags Remove Duplicates across executions in front of a create', () => {
		const dedup = app('Only new', 'n8n-nodes-base.removeDuplicates', { operation: 'removeItemsSeenInPreviousExecutions', dedupeValue: '={{ $json.id }}' }, { typeVersion: 2 });
		const wf = workflow([schedule(), dedup, post()], [['Schedule', 'Only new'], ['Only new', 'Create Invoice']]);
		expect(one(wf, 'racy-dedup')).toMatchObject({ severity: 'must', node: 'Only new' });
	});
	it('flags a get-then-set lock in front of a create', () => {
		const get = app('Seen?', 'n8n-nodes-base.redis', { operation: 'get', key: '={{ $json.body.id }}' });
		const check = app('Not seen', 'n8n-nodes-base.if', { conditions: { conditions: [{ operator: { operation: 'notExists' } }] } }, { typeVersion: 2.2 });
		const setKey = app('Remember', 'n8n-nodes-base.redis', { operation: 'set', key: '={{ $json.body.id }}' });
		const wf = workflow([webhook(), get, check, setKey, post()], [['Webhook', 'Seen?'], ['Seen?', 'Not seen'], ['Not seen', 'Remember', 0], ['Remember', 'Create Invoice']]);
		expect(one(wf, 'racy-dedup')).toMatchObject({ severity: 'must', node: 'Seen?' });
	});
	it('reports a look-up-then-create as the race it is, not as a write every retry repeats', () => {
		const find = app('Find user', 'n8n-nodes-base.supabase', { operation: 'get', tableId: 'users' });
		const check = app('User exists?', 'n8n-nodes-base.if', { conditions: { conditions: [{ operator: { operation: 'exists' }, leftValue: '={{ $json.id }}' }] } }, { typeVersion: 2.2 });
		const create = app('Create user', 'n8n-nodes-base.supabase', { operation: 'create', tableId: 'users' });
		const wf = workflow([webhook(), find, check, create], [['Webhook', 'Find user'], ['Find user', 'User exists?'], ['User exists?', 'Create user', 1]]);
		expect(findings(wf).map((f) => [f.rule, f.severity, f.node])).toEqual([['racy-dedup', 'must', 'Find user']]);
		expect(findings(wf)[0].message).toContain('both create it');
	});
	it('reads a Merge that keeps only items with no match in the sheet as a check-then-write', () => {
		const sheet = { documentId: { __rl: true, value: 'doc1', mode: 'id' }, sheetName: { __rl: true, value: 'Log', mode: 'name' } };
		const read = app('Get logged', 'n8n-nodes-base.googleSheets', { ...sheet }, { typeVersion: 4.5 });
		const merge = app('Only new', 'n8n-nodes-base.merge', { mode: 'combine', joinMode: 'keepNonMatches', fieldsToMatchString: 'id' }, { typeVersion: 3 });
		const append = app('Log new', 'n8n-nodes-base.googleSheets', { ...sheet, operation: 'append' }, { typeVersion: 4.5 });
		const links: Link[] = [['Schedule', 'Get logged'], ['Schedule', 'Only new'], ['Get logged', 'Only new'], ['Only new', 'Log new']];
		expect(findings(workflow([schedule(), read, merge, append], links)).map((f) => [f.rule, f.node])).toEqual([['racy-dedup', 'Get logged']]);
		// The twin: the append goes to another sheet, so the read is no lock for it.
		const elsewhere = app('Log new', 'n8n-nodes-base.googleSheets', { ...sheet, sheetName: { __rl: true, value: 'Other', mode: 'name' }, operation: 'append' }, { typeVersion: 4.5 });
		expect(findings(workflow([schedule(), read, merge, elsewhere], links)).map((f) => [f.rule, f.node])).toEqual([['unguarded-write', 'Log new']]);
	});
	it('says nothing about a read that no IF checks, or a dedup behind a Guard', () => {
		const get = app('Load', 'n8n-nodes-base.redis', { operation: 'get', key: 'config' });
		const setKey = app('Save', 'n8n-nodes-base.redis', { operation: 'set', key: 'config' });
		expect(findings(workflow([webhook(), get, setKey, post()], [['Webhook', 'Load'], ['Load', 'Save'], ['Save', 'Create Invoice']]), 'racy-dedup')).toEqual([]);
		const { nodes, links } = safeInvoice();
		nodes.push(app('Only new', 'n8n-nodes-base.removeDuplicates', { operation: 'removeItemsSeenInPreviousExecutions' }, { typeVersion: 2 }));
		const wf = workflow(nodes, [...links.filter(([from, to]) => !(from === 'Webhook' && to === 'Guard')), ['Webhook', 'Only new'], ['Only new', 'Guard']]);
		expect(findings(wf)).toEqual([]);
	});
});

describe('unknown-write', () => {
	it('is info for Code that calls the network, Execute Command and community nodes', () => {
		const nodes = [
			webhook(),
			app('Call API', 'n8n-nodes-base.code', { jsCode: 'await this.helpers.httpRequest({ method: "POST", url })' }, { typeVersion: 2 }),
			app('Shell', 'n8n-nodes-base.executeCommand', { command: 'curl -X POST …' }),
			app('Vendor', 'n8n-nodes-vendor.vendorCrm', { operation: 'create' }),
		];
		const wf = workflow(nodes, nodes.slice(1).map((n): Link => ['Webhook', n.name]));
		expect(findings(wf).map((f) => [f.rule, f.severity, f.node])).toEqual([
			['unknown-write', 'info', 'Call API'],
			['unknown-write', 'info', 'Shell'],
			['unknown-write', 'info', 'Vendor'],
		]);
		expect(auditWorkflow(wf).checklist.writesMapped).toBe('missing');
	});
	it('says nothing about Code that only reshapes items', () => {
		const wf = workflow([webhook(), app('Reshape', 'n8n-nodes-base.code', { jsCode: 'return $input.all().map(i => ({ json: { id: i.json.id } }))' }, { typeVersion: 2 })], [['Webhook', 'Reshape']]);
		expect(findings(wf)).toEqual([]);
	});
});
