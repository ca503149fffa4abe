// The Idempotency Audit node's parameters: what comes out (one item per workflow, per finding, or
// one summary with a Slack message), the lowest severity shown, and which version of a
// workflow is read.

import type { INodeProperties } from 'n8n-workflow';
import { booleanProperty, choiceProperty } from '../shared/n8n/descriptions';

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
		...choiceProperty(
			'Minimum Severity',
			'minimumSeverity',
			[
				{ name: 'Must', value: 'must', description: 'Only what can write twice or lose a write' },
				{ name: 'Should', value: 'should', description: 'Also weaker protections and repeated notifications' },
				{ name: 'Info', value: 'info', description: 'Also nodes the audit cannot judge (Code, Execute Command, unknown community nodes)' },
			],
			'must',
			"The mildest severity a finding needs to be output; findings accepted in a node's notes are left out unless Include Accepted Findings is on",
		),
		noDataExpression: true,
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			booleanProperty(
				'Include Accepted Findings',
				'includeAcknowledged',
				false,
				'Whether to output findings a team accepted on purpose in the node\'s notes (a line "idempotency-audit: accept <rule> — why"), marked acknowledged',
			),
			booleanProperty(
				'Include Workflows Without Findings',
				'includeClean',
				false,
				'Whether to output an item for every workflow, also those with no finding at the minimum severity',
				{ show: { '/output': ['workflows'] } },
			),
			choiceProperty(
				'Version to Audit',
				'version',
				[
					{ name: 'Published', value: 'published', description: 'What runs: the published version of each workflow; the draft when it was never published' },
					{ name: 'Draft', value: 'draft', description: 'What the editor shows: the saved draft, published or not' },
				],
				'published',
				'Which version of a workflow to audit when n8n has a draft next to the published version',
			),
		],
	},
];
