// Route: gives each item an owner and a reason by the first matching rule, remembers the
// exception, and adds a ready Slack message; one output per rule, then Unrouted.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { actorOf } from '../../shared/n8n/actor';
import { explicitKeyProperty, keySourceProperty } from '../../shared/n8n/descriptions';
import { itemError } from '../../shared/n8n/errors';
import { exceptionFields, executionUrlOf } from '../../shared/n8n/exceptionItem';
import { errorItem, inInputOrder, outputItem, prepareItems } from '../../shared/n8n/items';
import { ItemKeys } from '../../shared/n8n/keyReference';
import type { FoundMetadata } from '../../shared/n8n/guardLineage';
import { oneOf, reasonOptions, severityOptions } from '../../shared/n8n/options';
import { ParameterReader } from '../../shared/n8n/parameters';
import { InvalidInputError } from '../../shared/store/errors';
import { validateNamespace } from '../../shared/store/identifiers';
import { EXCEPTION_GROUPINGS, type ExceptionGrouping, type IdempotencyStore } from '../../shared/store/types';
import { rememberExceptions, unsavedException, type Routed } from '../helpers/remember';
import { Rules, type RuleValues } from '../helpers/rules';

const show = { operation: ['route'] };

export const description: INodeProperties[] = [
	keySourceProperty(
		{
			metadata: "The item's _idempotency, or the upstream Idempotency Guard's for this item",
			explicit: 'Give namespace and key, e.g. on a path that did not pass a Guard',
		},
		show,
	),
	explicitKeyProperty({ operation: ['route'], keySource: ['explicit'] }),
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
		displayOptions: { show },
	},
	{
		displayName: 'Rules',
		name: 'rules',
		placeholder: 'Add Rule',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		description: 'Checked in order; the first rule that matches gives the owner and the output',
		displayOptions: { show },
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
					{ displayName: 'Severity', name: 'severity', type: 'options', options: severityOptions, default: 'medium' },
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
		displayOptions: { show },
	},
];

function rulesOf(ctx: IExecuteFunctions): RuleValues[] {
	return ((ctx.getNodeParameter('rules', 0, {}) as { rule?: RuleValues[] }).rule ?? []) as RuleValues[];
}

/** One output per rule, then Unrouted. */
export const outputCount = (ctx: IExecuteFunctions) => rulesOf(ctx).length + 1;

function groupingOption(ctx: IExecuteFunctions, value: unknown): ExceptionGrouping {
	if (value === undefined || value === null || value === '') return EXCEPTION_GROUPINGS[0];
	if ((EXCEPTION_GROUPINGS as readonly unknown[]).includes(value)) return value as ExceptionGrouping;
	throw itemError(
		ctx,
		new InvalidInputError(`Option Group By is "${String(value)}", not ${oneOf(EXCEPTION_GROUPINGS)}`, 'Choose Key and Reason or Key under Options → Group By.'),
		0,
	);
}

export async function execute(this: IExecuteFunctions, store: IdempotencyStore): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const parameters = new ParameterReader(this, items);
	const rules = new Rules(rulesOf(this), parameters);
	const outputs: INodeExecutionData[][] = Array.from({ length: rules.unrouted + 1 }, () => []);
	const fixedReason = this.getNodeParameter('reason', 0, 'fromItem') as string;
	const options = this.getNodeParameter('options', 0, {}) as { persist?: boolean; groupBy?: string; slackButtons?: boolean };
	const persist = options.persist !== false;
	const grouping = groupingOption(this, options.groupBy);
	const keys = new ItemKeys(this, parameters, {
		emptyKey: () => ['Key is empty', 'Enter the key as the Guard stored it (its _idempotency.key), or use Key Source = From Guard Metadata.'],
		noMetadata: () => [
			'The item carries no _idempotency and no upstream Idempotency Guard is on its lineage',
			'Connect the Router after a Guard (e.g. its Ambiguous output, or a write behind it), or set Key Source to Explicit.',
		],
	});
	const actor = actorOf(this);
	const executionUrl = executionUrlOf(this, actor.workflowId, actor.executionId);

	const { prepared, failed } = prepareItems(this, (i): Routed => {
		let meta: FoundMetadata | null = null;
		let namespace: string;
		let key: string;
		if (keys.source === 'explicit') {
			({ namespace, key } = keys.explicit(i));
		} else {
			meta = keys.metadata(i);
			namespace = validateNamespace(meta.namespace);
			// A missing_key item has no key: the exception is about the item, keyed by its execution.
			key = meta.key ?? `missing-key:${actor.executionId ?? 'manual'}:${i}`;
		}
		const reason = fixedReason === 'fromItem' ? (meta?.reason ?? null) : fixedReason;
		if (!reason) {
			throw new InvalidInputError('The item has no reason (its _idempotency.reason is empty)', 'Set Reason to a fixed code, e.g. write_failed or write_timeout.');
		}
		const heldBy = meta?.raw.heldBy as { testRun?: unknown } | undefined;
		const heldByTestRun = reason === 'in_progress' && heldBy?.testRun === true;
		return { index: i, namespace, key, reason, ...rules.match(i, reason), attempt: meta ? meta.attempt : null, heldByTestRun };
	});
	const routed = prepared.map((entry) => entry.value);

	const { stored, opened } = persist ? await rememberExceptions(store, routed, grouping, actor) : { stored: new Map(), opened: new Set<number>() };
	const now = Date.now();
	for (const r of routed) {
		const exception = stored.get(r.index) ?? unsavedException(r, grouping, actor, now);
		// The owner and route are this routing's, even when an open exception was counted.
		const shown = { ...exception, owner: r.owner, severity: r.severity, route: r.route };
		// Buttons need a stored exception: its id is what a click resolves.
		const fields = exceptionFields(shown, {
			attempt: r.attempt,
			executionUrl,
			buttons: options.slackButtons === true && persist,
			heldByTestRun: r.heldByTestRun,
		});
		(fields.exception as IDataObject).opened = !persist || opened.has(r.index);
		outputs[r.output].push(outputItem(items, r.index, { ...items[r.index].json, ...fields }));
	}
	for (const [index, error] of failed) outputs[rules.unrouted].push(errorItem(items, index, error));
	// Keep input order within each output.
	return inInputOrder(outputs);
}
