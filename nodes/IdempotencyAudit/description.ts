// The Idempotency Audit node's parameters: what comes out (one item per workflow, per finding, or
// one summary with a Slack message), the lowest severity shown, and which version of a
// workflow is read.

import type { INodeProperties } from 'n8n-workflow';

export type AuditOutput = 'workflows' | 'findings' | 'summary';

export const auditProperties: INodeProperties[] = [
	{
		displayName:
			"Feed this node workflows: the n8n node's Workflow → Get Many operation gives one item per workflow of this n8n. It reads them only; nothing is changed or sent.",
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Output',
		name: 'output',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'One Item per Workflow',
				value: 'workflows',
				description:
					'The report entry of each workflow with findings: its triggers, writes, the six-point checklist and the findings with node, why and fix',
			},
			{
				name: 'One Item per Finding',
				value: 'findings',
				description: 'Each finding on its own, with its workflow, rule, severity, node, why and fix: to filter, count or file tickets',
			},
			{
				name: 'One Summary Item',
				value: 'summary',
				description: 'The totals, every workflow with findings, the inputs that are not workflows, and a ready Slack message (slack.text, slack.blocks)',
			},
		],
		default: 'summary',
	},
	{
		displayName: 'Minimum Severity',
		name: 'minimumSeverity',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Must', value: 'must', description: 'Only what can write twice or lose a write' },
			{ name: 'Should', value: 'should', description: 'Also weaker protections and repeated notifications' },
			{ name: 'Info', value: 'info', description: 'Also nodes the audit cannot judge (Code, Execute Command, unknown community nodes)' },
		],
		default: 'must',
		description: 'The mildest severity a finding needs to be output; findings accepted in a node\'s notes are left out unless Include Accepted Findings is on',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Include Accepted Findings',
				name: 'includeAcknowledged',
				type: 'boolean',
				default: false,
				description:
					"Whether to output findings a team accepted on purpose in the node's notes (a line \"idempotency-audit: accept <rule> — why\"), marked acknowledged",
			},
			{
				displayName: 'Include Workflows Without Findings',
				name: 'includeClean',
				type: 'boolean',
				default: false,
				displayOptions: { show: { '/output': ['workflows'] } },
				description: 'Whether to output an item for every workflow, also those with no finding at the minimum severity',
			},
			{
				displayName: 'Version to Audit',
				name: 'version',
				type: 'options',
				options: [
					{ name: 'Published', value: 'published', description: 'What runs: the published version of each workflow; the draft when it was never published' },
					{ name: 'Draft', value: 'draft', description: 'What the editor shows: the saved draft, published or not' },
				],
				default: 'published',
				description: 'Which version of a workflow to audit when n8n has a draft next to the published version',
			},
		],
	},
];
