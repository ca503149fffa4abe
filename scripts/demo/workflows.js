// The two workflows the demo imports: the user-facing lead-intake example with its CRM and
// Slack URLs pointed at the demo's fake services and every node of this package on the chosen
// store, and a small "demo stats" workflow that reads the store's own numbers back (State Ledger
// Stats + Exception Router List Open) for the table.
'use strict';

const { loadExample, PLACEHOLDERS } = require('../../test/e2e/lib/workflows');
const { applyStore } = require('./store');

const PACKAGE = 'n8n-nodes-idempotency';
const LEAD_PATH = 'lead-intake';
const STATS_PATH = 'demo-stats';

function leadIntake(services, store) {
	let text = JSON.stringify(loadExample('lead-intake'));
	text = text.split(PLACEHOLDERS.crm).join(services.crm.url);
	text = text.split(PLACEHOLDERS.slack).join(services.slack.url);
	const wf = JSON.parse(text);
	for (const node of wf.nodes) if (node.type.startsWith(`${PACKAGE}.`)) applyStore(node, store);
	return wf;
}

function demoStats(store) {
	const nodes = [
		{
			id: 'd3e0c001-0000-4000-8000-000000000001',
			name: 'Stats request',
			type: 'n8n-nodes-base.webhook',
			typeVersion: 2.1,
			position: [0, 0],
			webhookId: 'd3e0c001-0000-4000-8000-0000000000aa',
			parameters: { httpMethod: 'GET', path: STATS_PATH, responseMode: 'responseNode', options: {} },
		},
		{
			id: 'd3e0c001-0000-4000-8000-000000000002',
			name: 'Ledger stats',
			type: `${PACKAGE}.stateLedger`,
			typeVersion: 1,
			position: [240, 0],
			parameters: { store: store.kind, namespace: store.namespace, operation: 'stats', sinceHours: 24, options: {} },
		},
		{
			id: 'd3e0c001-0000-4000-8000-000000000003',
			name: 'Open exceptions',
			type: `${PACKAGE}.exceptionRouter`,
			typeVersion: 1,
			position: [480, 0],
			// no open exception → no item; the answer must still be sent
			alwaysOutputData: true,
			parameters: { store: store.kind, namespace: store.namespace, operation: 'listOpen', limit: 100, options: {} },
		},
		{
			id: 'd3e0c001-0000-4000-8000-000000000004',
			name: 'Respond',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.5,
			position: [720, 0],
			parameters: {
				respondWith: 'json',
				responseBody:
					"={{ { stats: $('Ledger stats').first().json, openExceptions: $('Open exceptions').all().map(i => i.json).filter(e => e.id) } }}",
				options: {},
			},
		},
	];
	for (const node of nodes) if (node.type.startsWith(`${PACKAGE}.`)) applyStore(node, store);
	return {
		id: 'demoStatsReadout',
		name: 'Demo: numbers from the store',
		nodes,
		connections: {
			'Stats request': { main: [[{ node: 'Ledger stats', type: 'main', index: 0 }]] },
			'Ledger stats': { main: [[{ node: 'Open exceptions', type: 'main', index: 0 }]] },
			'Open exceptions': { main: [[{ node: 'Respond', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
		pinData: {},
		tags: [],
	};
}

module.exports = { leadIntake, demoStats, LEAD_PATH, STATS_PATH };
