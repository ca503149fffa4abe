// The Exception Router's parameters (docs/CONTRACT.md §7), in the order the editor shows them: what several
// operations share first (store, operation, exception ID, namespaces), then each operation's own
// (its *.operation.ts), then the options. Its outputs are built from its rules, one per rule plus
// a last Unrouted, the way n8n's Switch node builds them.

import type { INodeParameters, INodeProperties } from 'n8n-workflow';
import { booleanProperty, choiceProperty, operationProperty } from '../../shared/n8n/descriptions';
import { groupingOptions } from '../../shared/n8n/options';
import { adminNamespaceProperties, namespaceProperty, storeProperty } from '../../shared/n8n/storeParameters';
import { operations } from './router';

// Evaluated by n8n in the editor; must be self-contained (no imports, no outer names).
export const configuredOutputs = (parameters: INodeParameters): Array<{ type: string; displayName?: string }> => {
	const operation = (parameters.operation as string) ?? 'route';
	if (operation === 'resolveFromSlack') return [{ type: 'main', displayName: 'Handled' }, { type: 'main', displayName: 'Ignored' }];
	if (operation === 'reconcile') {
		return [
			{ type: 'main', displayName: 'Processed' },
			{ type: 'main', displayName: 'Replayed' },
			{ type: 'main', displayName: 'Left Open' },
		];
	}
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

const operation = operationProperty(
	[
		{ name: 'Route', value: 'route', action: 'Route exceptions to owners', description: 'Give each item an owner and a reason, remember it, and prepare a Slack message' },
		{ name: 'Resolve', value: 'resolve', action: 'Resolve an exception', description: 'Close an exception as replay, mark processed or discard' },
		{
			name: 'Resolve From Slack Action',
			value: 'resolveFromSlack',
			action: 'Resolve an exception from a Slack button',
			description: "Check and act on a click of the Router message's buttons, posted by Slack to a Webhook",
		},
		{
			name: 'Reconcile',
			value: 'reconcile',
			action: 'Reconcile an unknown outcome',
			description: 'After looking the key up in the target system: found → processed, not found → replayed once that is safe',
		},
		{ name: 'List Open', value: 'listOpen', action: 'List open exceptions', description: 'Open exceptions by owner, reason and age, e.g. for a daily digest' },
		{ name: 'Get', value: 'get', action: 'Get an exception', description: 'One exception by its ID' },
	],
	'route',
);

const options: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	displayOptions: { show: { operation: ['route', 'resolve'] } },
	options: [
		booleanProperty(
			'Force',
			'force',
			false,
			'Whether Replay may release a key that is still being processed (its lease has not run out), e.g. when you know that run is dead. Off, such a replay is refused and the exception stays open, because the next delivery would write while the first run may still be writing. A forced replay is recorded as forced.',
			{ show: { '/operation': ['resolve'] } },
		),
		booleanProperty(
			'Slack Buttons',
			'slackButtons',
			false,
			"Whether the Slack message carries Mark processed, Replay and Discard buttons, answered by a workflow with a Webhook and the Resolve From Slack Action operation. Needs Interactivity turned on in your Slack app (see the README's Resolve from Slack); without it the buttons do nothing.",
			{ show: { '/operation': ['route'] } },
		),
		booleanProperty(
			'Persist',
			'persist',
			true,
			'Whether to remember the exception (once per open namespace, key and reason; repeats count occurrences) so it can be listed and resolved',
			{ show: { '/operation': ['route'] } },
		),
		choiceProperty(
			'Group By',
			'groupBy',
			groupingOptions,
			'keyAndReason',
			'What makes repeats one open exception. Key: a timeout that then shows up as in_progress and lease_expired is one incident.',
		),
	],
};

/**
 * Shown under Operation while Route has rules. n8n's editor keeps only the parameters the chosen
 * operation shows (on every change it rebuilds a node's parameters with getNodeParameters, which
 * drops hidden ones, as its own Switch node loses its rules), so switching to another operation
 * and back leaves Route without its rules, their outputs and the connections on them — a saved
 * workflow cannot keep them. Hence: one Router per job (test/nodes/editorSwitch.test.ts shows
 * what survives a switch).
 */
export const operationSwitchNotice: INodeProperties = {
	displayName:
		'Changing Operation deletes the rules below, the outputs built from them and what is connected to those outputs. To resolve, reconcile, list or get exceptions, add a second Exception Router (e.g. the action "Resolve an exception") instead of switching this one.',
	name: 'operationSwitchNotice',
	type: 'notice',
	default: '',
	// Shown on Route whether or not it has rules yet: n8n 1.123 cannot resolve a condition on a
	// path inside a fixed collection (`rules.rule`) and refuses to activate the workflow.
	displayOptions: { show: { operation: ['route'] } },
};

export const routerProperties: INodeProperties[] = [
	storeProperty,
	operation,
	operationSwitchNotice,
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
	...Object.values(operations).flatMap((op) => op.description),
	options,
];
