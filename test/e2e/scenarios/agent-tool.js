// An AI agent's tool (examples/agent-tool-create-invoice.json) in a real n8n, on Postgres and on
// Redis. An agent that retries a tool call sends the same arguments again — one after the other
// when it did not get (or did not trust) the answer, or several at once when it runs tool calls
// in parallel. The tool is called here the way n8n's AI Agent calls it (a sub-workflow run by
// another workflow; no model needed): a small caller workflow with a webhook and an Execute
// Workflow node. The fake billing API creates a new invoice on every POST, so "one write" is
// counted where it lands, and every answer must be the same, word for word.
'use strict';

const assert = require('assert/strict');
const crypto = require('crypto');
const { prepareWorkflow, webhookPath, guardNamespace, shortId } = require('../lib/workflows');
const { historyOf, guardKey, STORES } = require('../lib/inspector');

const INPUTS = [
	{ name: 'customerId', type: 'string' },
	{ name: 'orderId', type: 'string' },
	{ name: 'amount', type: 'number' },
	{ name: 'currency', type: 'string' },
];

// The agent's side: what n8n's AI Agent does through Call n8n Workflow Tool, minus the model —
// the arguments arrive in a webhook body and go to the tool sub-workflow by id.
function callerWorkflow(tool, store) {
	return {
		id: shortId(),
		name: `Agent stand-in calling "${tool.name}"`,
		nodes: [
			{
				id: crypto.randomUUID(),
				name: 'Tool call',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2.1,
				position: [0, 0],
				webhookId: crypto.randomUUID(),
				parameters: { httpMethod: 'POST', path: `agent-tool-caller-${store}`, responseMode: 'lastNode', responseData: 'firstEntryJson', options: {} },
			},
			{
				id: crypto.randomUUID(),
				name: 'Call the tool',
				type: 'n8n-nodes-base.executeWorkflow',
				typeVersion: 1.2,
				position: [240, 0],
				parameters: {
					source: 'database',
					workflowId: { __rl: true, value: tool.id, mode: 'id' },
					workflowInputs: {
						mappingMode: 'defineBelow',
						value: Object.fromEntries(INPUTS.map(({ name }) => [name, `={{ $json.body.${name} }}`])),
						matchingColumns: [],
						schema: INPUTS.map(({ name, type }) => ({
							id: name,
							displayName: name,
							required: false,
							defaultMatch: false,
							display: true,
							canBeUsedToMatch: true,
							type,
							removed: false,
						})),
						attemptToConvertTypes: false,
						convertFieldsToString: true,
					},
					mode: 'once',
					options: { waitForSubWorkflow: true },
				},
			},
		],
		connections: { 'Tool call': { main: [[{ node: 'Call the tool', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		pinData: {},
		active: false,
	};
}

const toolCall = (store, order, amount = 120) => ({ customerId: `CUS-${store}-7`, orderId: `SO-${order}`, amount, currency: 'EUR' });
const keyOf = (call) => guardKey([call.customerId, call.orderId]);

function assertOneInvoiceAnswer(answers, services, call) {
	const invoices = services.billing.invoices.filter((i) => i.customerId === call.customerId && i.orderId === call.orderId);
	assert.equal(invoices.length, 1, `invoices written for ${call.orderId}: ${JSON.stringify(invoices)}`);
	const expected = {
		status: 'invoice_created',
		invoice: {
			invoiceId: invoices[0].id,
			invoiceNumber: invoices[0].number,
			customerId: call.customerId,
			orderId: call.orderId,
			total: call.amount,
			currency: call.currency,
		},
	};
	answers.forEach((res, i) => {
		assert.equal(res.status, 200, `call ${i + 1}: ${res.status} ${res.text}`);
		assert.deepEqual(res.json, expected, `call ${i + 1}`);
	});
}

function assertClaimedOnce(record) {
	const history = historyOf(record);
	assert.equal(record.state, 'processed', JSON.stringify(record));
	assert.deepEqual(history.slice(0, 2), ['claimed', 'processed'], history.join(', '));
	assert.ok(history.slice(2).every((e) => e === 'duplicate_seen'), history.join(', '));
}

module.exports = {
	name: 'agent-tool',
	order: 30,
	workflows: ({ services }) =>
		Object.fromEntries(
			STORES.map((store) => {
				const tool = prepareWorkflow('agent-tool-create-invoice', { services, store, pathSuffix: store, namespaceSuffix: store });
				return [store, { tool, caller: callerWorkflow(tool, store) }];
			}),
		),
	async run(ctx) {
		const { services, n8n, inspector } = ctx;

		for (const store of STORES) {
			const { tool, caller } = ctx.workflows[store];
			const path = webhookPath(caller);
			const namespace = guardNamespace(tool);

			await ctx.test(`${store}: the same tool call 5 times in sequence → one invoice, 5 identical answers`, async () => {
				const call = toolCall(store, 'sequence');
				const answers = [];
				for (let i = 0; i < 5; i++) answers.push(await n8n.webhook(path, call));
				assertOneInvoiceAnswer(answers, services, call);
				const record = await inspector.key(store, namespace, keyOf(call));
				assert.deepEqual(record.result, answers[0].json.invoice, 'the stored result is the answer');
				assertClaimedOnce(record);
			});

			await ctx.test(`${store}: the same tool call 8 times at once (slow billing API) → one invoice, 8 identical answers`, async () => {
				const call = toolCall(store, 'parallel');
				services.billing.setDelay(1500);
				try {
					const answers = await Promise.all(Array.from({ length: 8 }, () => n8n.webhook(path, call)));
					assertOneInvoiceAnswer(answers, services, call);
				} finally {
					services.billing.setDelay(0);
				}
				assertClaimedOnce(await inspector.key(store, namespace, keyOf(call)));
			});

			await ctx.test(`${store}: the agent retries with another amount → "needs a person", no second invoice, one Slack message`, async () => {
				const call = toolCall(store, 'sequence');
				const slackBefore = services.slack.messages.length;
				const res = await n8n.webhook(path, { ...call, amount: 210 });
				assert.equal(res.status, 200, res.text);
				assert.equal(res.json.status, 'needs_review', res.text);
				assert.equal(res.json.reason, 'payload_mismatch');
				assert.equal(res.json.owner, '@billing-oncall');
				assert.match(res.json.message, /already exists with another amount or currency\. Do not call this tool again/);
				assert.equal(services.billing.writeCount(call.customerId, call.orderId), 1, 'invoices for the order');
				const sent = services.slack.messages.slice(slackBefore);
				assert.equal(sent.length, 1, 'Slack messages');
				assert.equal(sent[0].parsed.reason, 'payload_mismatch');
				assert.equal(sent[0].parsed.exceptionId, res.json.exceptionId, 'the answer names the stored exception');
			});
		}

		await ctx.test('each order was invoiced exactly once over the whole scenario', () => {
			assert.equal(services.billing.writeCount(), STORES.length * 2, JSON.stringify(services.billing.invoices));
		});
	},
};
