// The Exception Router's parameters (SPEC §7). Its outputs are built from its rules,
// one per rule plus a last Unrouted, the way n8n's Switch node builds them.

import type { INodeParameters, INodeProperties } from 'n8n-workflow';
import { REASONS, ROUTABLE_REASONS } from '../shared/engine/reasons';
import { adminNamespaceProperties, namespaceProperty, storeProperty } from '../shared/n8n/storeParameters';
import { typeOptionsOf } from '../shared/engine/bounds';

// Evaluated by n8n in the editor; must be self-contained (no imports, no outer names).
export const configuredOutputs = (parameters: INodeParameters): Array<{ type: string; displayName?: string }> => {
	const operation = (parameters.operation as string) ?? 'route';
	if (operation !== 'route') return [{ type: 'main' }];
	const rules = (((parameters.rules as { rule?: Array<{ outputName?: string }> }) ?? {}).rule ?? []) as Array<{
		outputName?: string;
	}>;
	const outputs = rules.map((rule, index) => ({
		type: 'main',
		displayName: (rule.outputName && String(rule.outputName).trim()) || `Rule ${index + 1}`,
	}));
	outputs.push({ type: 'main', displayName: 'Unrouted' });
	return outputs;
};

const reasonOptions = ROUTABLE_REASONS.map((code) => ({
	name: code,
	value: code,
	description: REASONS[code].explanation,
}));

const route = { show: { operation: ['route'] } };

export const routerProperties: INodeProperties[] = [
	storeProperty,
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Route', value: 'route', action: 'Route exceptions to owners', description: 'Give each item an owner and a reason, remember it, and prepare a Slack message' },
			{ name: 'Resolve', value: 'resolve', action: 'Resolve an exception', description: 'Close an exception as replay, mark processed or discard' },
			{ name: 'List Open', value: 'listOpen', action: 'List open exceptions', description: 'Open exceptions by owner, reason and age, e.g. for a daily digest' },
			{ name: 'Get', value: 'get', action: 'Get an exception', description: 'One exception by its ID' },
		],
		default: 'route',
	},
	// First on Resolve and Get: the usual way to name an exception.
	{
		displayName: 'Exception ID',
		name: 'exceptionId',
		type: 'string',
		default: '',
		description: 'The exception.id from the Router’s output. Leave empty on Resolve to resolve the open exceptions of a namespace and key.',
		displayOptions: { show: { operation: ['resolve', 'get'] } },
	},
	...adminNamespaceProperties({ operation: ['route'], keySource: ['explicit'] }),
	...adminNamespaceProperties(
		{ operation: ['resolve'], exceptionId: [''] },
		{ description: 'The namespace of the key whose open exceptions to resolve' },
	),
	{
		...namespaceProperty,
		required: false,
		default: '',
		description: 'Only exceptions of this namespace; leave empty for all',
		displayOptions: { show: { operation: ['listOpen'] } },
	},
	{
		displayName: 'Key Source',
		name: 'keySource',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'From Guard Metadata',
				value: 'metadata',
				description: "The item's _idempotency, or the upstream Idempotency Guard's for this item",
			},
			{ name: 'Explicit', value: 'explicit', description: 'Give namespace and key, e.g. on a path that did not pass a Guard' },
		],
		default: 'metadata',
		displayOptions: route,
	},
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		description: 'The key exactly as the Guard stored it (see _idempotency.key; sha256:… when hashed). Used exactly as written (no trimming or normalising); a key longer than 256 characters is hashed as the Guard does.',
		displayOptions: { show: { operation: ['route'], keySource: ['explicit'] } },
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'options',
		options: [
			{ name: 'From Item', value: 'fromItem', description: "The item's _idempotency.reason (the Guard's Ambiguous output)" },
			...reasonOptions,
		],
		default: 'fromItem',
		description: 'Why the item needs a person. Use a fixed code on other paths, e.g. write_timeout on an HTTP node error output.',
		displayOptions: route,
	},
	{
		displayName: 'Rules',
		name: 'rules',
		placeholder: 'Add Rule',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		description: 'Checked in order; the first rule that matches gives the owner and the output',
		displayOptions: route,
		options: [
			{
				name: 'rule',
				displayName: 'Rule',
				values: [
					{
						displayName: 'Output Name',
						name: 'outputName',
						type: 'string',
						default: '',
						placeholder: 'e.g. Finance review',
						description: 'The name of this rule’s output',
					},
					{
						displayName: 'Reasons',
						name: 'reasons',
						type: 'multiOptions',
						options: reasonOptions,
						default: [],
						description: 'The reason codes this rule takes; none = any reason',
					},
					{
						displayName: 'Condition',
						name: 'condition',
						type: 'boolean',
						default: true,
						description:
							'Whether the rule applies to this item; use an expression such as {{ $json.body.amount > 10000 }}',
					},
					{
						displayName: 'Owner',
						name: 'owner',
						type: 'string',
						default: '',
						placeholder: 'U024BE7LH, #finance-ops, @jane, team-revops',
						description: 'Who decides: a person, team, @handle, or a Slack user (U…) or channel (C…) ID, which Slack mentions',
					},
					{
						displayName: 'Severity',
						name: 'severity',
						type: 'options',
						options: [
							{ name: 'Low', value: 'low' },
							{ name: 'Medium', value: 'medium' },
							{ name: 'High', value: 'high' },
							{ name: 'Critical', value: 'critical' },
						],
						default: 'medium',
					},
				],
			},
		],
	},
	{
		displayName: 'Fallback Owner',
		name: 'fallbackOwner',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'team-ops',
		description: 'Owner of items no rule matches (they leave through Unrouted) and of rules without an owner',
		displayOptions: route,
	},
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		description: 'The key whose open exceptions to resolve, as the Guard stored it. Used exactly as written (no trimming or normalising); a key longer than 256 characters is hashed as the Guard does.',
		displayOptions: { show: { operation: ['resolve'], exceptionId: [''] } },
	},
	{
		displayName: 'Resolution',
		name: 'resolution',
		type: 'options',
		options: [
			{ name: 'Replay', value: 'replay', description: 'Release the key, so the next delivery is New and writes again' },
			{ name: 'Mark Processed', value: 'markProcessed', description: 'The write did happen: set the key processed, with an optional result' },
			{ name: 'Discard', value: 'discard', description: 'Leave the key as it is and close the exception' },
		],
		default: 'replay',
		displayOptions: { show: { operation: ['resolve'] } },
	},
	{
		displayName: 'Result',
		name: 'result',
		type: 'json',
		default: '{}',
		description: 'What later duplicates receive, e.g. {"contactId": "123"} found in the CRM',
		displayOptions: { show: { operation: ['resolve'], resolution: ['markProcessed'] } },
	},
	{
		displayName: 'Resolved By',
		name: 'resolvedBy',
		type: 'string',
		default: '',
		placeholder: 'jane@example.com',
		displayOptions: { show: { operation: ['resolve'] } },
	},
	{
		displayName: 'Note',
		name: 'note',
		type: 'string',
		default: '',
		typeOptions: { rows: 2 },
		displayOptions: { show: { operation: ['resolve'] } },
	},
	{
		displayName: 'Owner',
		name: 'owner',
		type: 'string',
		default: '',
		description: 'Only exceptions of this owner; empty for all',
		displayOptions: { show: { operation: ['listOpen'] } },
	},
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'options',
		options: [{ name: 'Any', value: '' }, ...reasonOptions],
		default: '',
		description: 'Only exceptions with this reason',
		displayOptions: { show: { operation: ['listOpen'] } },
	},
	{
		displayName: 'Older Than (Minutes)',
		name: 'olderThanMinutes',
		type: 'number',
		typeOptions: typeOptionsOf('olderThanMinutes'),
		default: 0,
		description: 'Only exceptions open at least this long; 0 for all',
		displayOptions: { show: { operation: ['listOpen'] } },
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: typeOptionsOf('limit'),
		default: 100,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['listOpen'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		displayOptions: { show: { operation: ['route', 'resolve'] } },
		options: [
			{
				displayName: 'Force',
				name: 'force',
				type: 'boolean',
				default: false,
				description:
					'Whether Replay may release a key that is still being processed (its lease has not run out), e.g. when you know that run is dead. Off, such a replay is refused and the exception stays open, because the next delivery would write while the first run may still be writing. A forced replay is recorded as forced.',
				displayOptions: { show: { '/operation': ['resolve'] } },
			},
			{
				displayName: 'Persist',
				name: 'persist',
				type: 'boolean',
				default: true,
				description:
					'Whether to remember the exception (once per open namespace, key and reason; repeats count occurrences) so it can be listed and resolved',
				displayOptions: { show: { '/operation': ['route'] } },
			},
			{
				displayName: 'Group By',
				name: 'groupBy',
				type: 'options',
				options: [
					{
						name: 'Key and Reason',
						value: 'keyAndReason',
						description: 'One open exception per key and reason: a key that times out, then shows up in progress, is two exceptions',
					},
					{
						name: 'Key',
						value: 'key',
						description: 'One open incident per key: its reasons are listed and its occurrences counted, one Slack message',
					},
				],
				default: 'keyAndReason',
				description: 'What makes repeats one open exception. Key: a timeout that then shows up as in_progress and lease_expired is one incident.',
			},
		],
	},
];
