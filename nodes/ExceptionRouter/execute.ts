// The Exception Router's execute(): `route` picks an owner by the first matching rule, remembers
// the exception (one round trip per namespace) and adds a Slack message; `resolve`, `listOpen`
// and `get` work on the remembered queue.

import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';
import { groupBy } from '../shared/engine/batch';
import { boundedNumber } from '../shared/engine/bounds';
import { storedKeyOf } from '../shared/engine/keys';
import { actorOf, iso } from '../shared/n8n/actor';
import { exceptionFields, executionUrlOf, presentException } from '../shared/n8n/exceptionItem';
import { itemError } from '../shared/n8n/errors';
import { findMetadata, upstreamGuards, type FoundMetadata } from '../shared/n8n/metadata';
import { ParameterReader } from '../shared/n8n/parameters';
import { withStore } from '../shared/n8n/resolveStore';
import { InvalidInputError } from '../shared/store/errors';
import { exceptionPair } from '../shared/store/exceptions';
import { validateNamespace } from '../shared/store/identifiers';
import type {
	ExceptionGrouping,
	ExceptionRecord,
	IdempotencyStore,
	OpenExceptionRequest,
	Resolution,
	Severity,
} from '../shared/store/types';
import { presentRecord, resultJsonOf } from '../StateLedger/execute';

interface RuleValues {
	outputName?: string;
	reasons?: string[];
	condition?: boolean;
	owner?: string;
	severity?: Severity;
}

interface Routed {
	index: number;
	namespace: string;
	key: string;
	reason: string;
	owner: string;
	severity: Severity;
	route: string;
	output: number;
	attempt: number | null;
}


function groupingOption(ctx: IExecuteFunctions, value: unknown): ExceptionGrouping {
	if (value === undefined || value === null || value === '' || value === 'keyAndReason') return 'keyAndReason';
	if (value === 'key') return 'key';
	throw itemError(ctx, new InvalidInputError(`Option Group By is "${String(value)}", not keyAndReason or key`, 'Choose Key and Reason or Key under Options → Group By.'), 0);
}

async function route(ctx: IExecuteFunctions, store: IdempotencyStore): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const rules = ((ctx.getNodeParameter('rules', 0, {}) as { rule?: RuleValues[] }).rule ?? []) as RuleValues[];
	const outputs: INodeExecutionData[][] = Array.from({ length: rules.length + 1 }, () => []);
	const unrouted = rules.length;
	const fixedReason = ctx.getNodeParameter('reason', 0, 'fromItem') as string;
	const keySource = ctx.getNodeParameter('keySource', 0, 'metadata') as 'metadata' | 'explicit';
	const options = ctx.getNodeParameter('options', 0, {}) as { persist?: boolean; groupBy?: string };
	const persist = options.persist !== false;
	const grouping = groupingOption(ctx, options.groupBy);
	const guards = keySource === 'metadata' ? upstreamGuards(ctx) : [];
	const actor = actorOf(ctx);
	const executionUrl = executionUrlOf(ctx, actor.workflowId, actor.executionId);
	const parameters = new ParameterReader(ctx, items);

	const routed: Routed[] = [];
	const failed = new Map<number, NodeOperationError>();
	for (let i = 0; i < items.length; i++) {
		try {
			let meta: FoundMetadata | null = null;
			let namespace: string;
			let key: string;
			if (keySource === 'explicit') {
				namespace = validateNamespace(parameters.get('namespace', i));
				// As written, like the Ledger's explicit key (storedKeyOf).
				const written = String(parameters.get('key', i, '') ?? '');
				if (written.length === 0) throw new InvalidInputError('Key is empty', 'Enter the key as the Guard stored it (its _idempotency.key), or use Key Source = From Guard Metadata.');
				key = storedKeyOf(written);
			} else {
				meta = findMetadata(ctx, i, guards);
				if (!meta) {
					throw new InvalidInputError(
						'The item carries no _idempotency and no upstream Idempotency Guard is on its lineage',
						'Connect the Router after a Guard (e.g. its Ambiguous output, or a write behind it), or set Key Source to Explicit.',
					);
				}
				namespace = validateNamespace(meta.namespace);
				// A missing_key item has no key: the exception is about the item, keyed by its execution.
				key = meta.key ?? `missing-key:${actor.executionId ?? 'manual'}:${i}`;
			}
			const reason = fixedReason === 'fromItem' ? (meta?.reason ?? null) : fixedReason;
			if (!reason) {
				throw new InvalidInputError(
					'The item has no reason (its _idempotency.reason is empty)',
					'Set Reason to a fixed code, e.g. write_failed or write_timeout.',
				);
			}
			let output = unrouted;
			for (let r = 0; r < rules.length; r++) {
				const rule = rules[r];
				const reasons = rule.reasons ?? [];
				if (reasons.length > 0 && !reasons.includes(reason)) continue;
				const condition = parameters.get(`rules.rule[${r}].condition`, i, true);
				if (condition === false || condition === 'false') continue;
				output = r;
				break;
			}
			const rule = output === unrouted ? null : rules[output];
			const fallbackOwner = String(parameters.get('fallbackOwner', i, '') ?? '').trim();
			const owner = String(rule?.owner ?? '').trim() || fallbackOwner;
			if (!owner) {
				throw new InvalidInputError(
					'No owner: the matching rule has none and Fallback Owner is empty',
					'Set an owner on every rule or a Fallback Owner, so no exception is left without a person.',
				);
			}
			routed.push({
				index: i,
				namespace,
				key,
				reason,
				owner,
				severity: rule?.severity ?? 'medium',
				route: rule ? (String(rule.outputName ?? '').trim() || `Rule ${output + 1}`) : 'Unrouted',
				output,
				attempt: meta ? meta.attempt : null,
			});
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			failed.set(i, problem);
		}
	}

	const stored = new Map<number, ExceptionRecord>();
	// This routing opened the exception when all its occurrences are this call's: one Slack message
	// per exception (or per incident, grouped by key) is an IF on exception.opened.
	const opened = new Set<number>();
	if (persist && routed.length > 0) {
		for (const [namespace, list] of groupBy(routed, (r) => r.namespace)) {
			const requests: OpenExceptionRequest[] = list.map((r) => ({ key: r.key, reason: r.reason, owner: r.owner, severity: r.severity, route: r.route, groupBy: grouping }));
			const records = await store.recordExceptions(namespace, requests, actor);
			const inThisCall = new Map<string, number>();
			for (const request of requests) inThisCall.set(exceptionPair(request), (inThisCall.get(exceptionPair(request)) ?? 0) + 1);
			list.forEach((r, n) => {
				stored.set(r.index, records[n]);
				const pair = exceptionPair(requests[n]);
				// The first item of the pair stands for the opening; its repeats in this call do not.
				if (records[n].occurrences === inThisCall.get(pair)) opened.add(r.index);
				inThisCall.set(pair, -1);
			});
		}
	}

	const now = Date.now();
	for (const r of routed) {
		const exception: ExceptionRecord = stored.get(r.index) ?? {
			id: '',
			namespace: r.namespace,
			key: r.key,
			reason: r.reason,
			owner: r.owner,
			severity: r.severity,
			route: r.route,
			status: 'open',
			reasons: [r.reason],
			groupBy: grouping,
			occurrences: 1,
			firstSeenAt: now,
			lastSeenAt: now,
			workflowId: actor.workflowId,
			executionId: actor.executionId,
			resolution: null,
			resolvedBy: null,
			resolvedAt: null,
			note: null,
		};
		// The owner and route are this routing's, even when an open exception was counted.
		const shown = { ...exception, owner: r.owner, severity: r.severity, route: r.route };
		const item = items[r.index];
		const fields = exceptionFields(shown, { attempt: r.attempt, executionUrl });
		(fields.exception as IDataObject).opened = !persist || opened.has(r.index);
		const json: IDataObject = { ...item.json, ...fields };
		const out: INodeExecutionData = { json, pairedItem: { item: r.index } };
		if (item.binary) out.binary = item.binary;
		outputs[r.output].push(out);
	}
	for (const [index, error] of failed) {
		outputs[unrouted].push({ json: { ...items[index].json, error: error.message }, pairedItem: { item: index } });
	}
	// Keep input order within each output.
	for (const list of outputs) list.sort((a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item);
	return outputs;
}

/** A replay that would let the next delivery write while the first run may still be writing. */
function liveClaimRefusal(key: string, leaseUntil: number | null): InvalidInputError {
	return new InvalidInputError(
		`Replay refused: key "${key}" is still being processed (its claim is live${leaseUntil ? ` until ${iso(leaseUntil)}` : ''}); the exception stays open`,
		'Wait until that run has finished or its lease has run out and resolve again, or turn on Options > Force if you know that run is dead (recorded as forced).',
	);
}

async function others(ctx: IExecuteFunctions, store: IdempotencyStore, operation: string): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const out: INodeExecutionData[] = [];
	const actor = actorOf(ctx);
	for (let i = 0; i < items.length; i++) {
		const pairedItem = { item: i };
		try {
			if (operation === 'get') {
				const id = String(ctx.getNodeParameter('exceptionId', i, '') ?? '').trim();
				if (!id) throw new InvalidInputError('Exception ID is empty', "Pass the Router's exception.id.");
				const exception = await store.getException(id);
				if (!exception) throw new InvalidInputError(`No exception has the ID "${id}"`, "Use the exception.id from the Router's output.");
				out.push({ json: presentException(exception, executionUrlOf(ctx, exception.workflowId, exception.executionId)), pairedItem });
			} else if (operation === 'resolve') {
				const id = String(ctx.getNodeParameter('exceptionId', i, '') ?? '').trim() || null;
				const resolution = ctx.getNodeParameter('resolution', i, 'replay') as Resolution;
				if (!['replay', 'markProcessed', 'discard'].includes(resolution)) {
					throw new InvalidInputError(`Resolution "${resolution}" is not one of replay, markProcessed, discard`);
				}
				let namespace: string | null = null;
				let key: string | null = null;
				if (!id) {
					namespace = validateNamespace(ctx.getNodeParameter('namespace', i));
					const written = String(ctx.getNodeParameter('key', i, '') ?? '');
					if (written.length === 0) throw new InvalidInputError('Give an Exception ID, or a namespace and key', 'Set Exception ID to the exception.id from the Router.');
					key = storedKeyOf(written);
				}
				const result = await store.resolveException(
					{
						id,
						namespace,
						key,
						resolution,
						resolvedBy: String(ctx.getNodeParameter('resolvedBy', i, '') ?? '').trim() || null,
						note: String(ctx.getNodeParameter('note', i, '') ?? '').trim() || null,
						resultJson: resolution === 'markProcessed' ? resultJsonOf(ctx.getNodeParameter('result', i, null), i) : null,
						force: (ctx.getNodeParameter('options', i, {}) as { force?: boolean }).force === true,
					},
					actor,
				);
				if (result.refused === 'live_claim') throw liveClaimRefusal(result.record?.key ?? key ?? '', result.record?.leaseUntil ?? null);
				if (id && result.exceptions.length === 0) {
					const existing = await store.getException(id);
					if (!existing) throw new InvalidInputError(`No exception has the ID "${id}"`, "Use the exception.id from the Router's output.");
					out.push({ json: { resolved: [presentException(existing, null)], alreadyResolved: true, record: null }, pairedItem });
					continue;
				}
				out.push({
					json: {
						resolved: result.exceptions.map((e) => presentException(e, null)),
						alreadyResolved: false,
						record: result.record ? presentRecord(result.record) : null,
					},
					pairedItem,
				});
			} else if (operation === 'listOpen') {
				const namespace = String(ctx.getNodeParameter('namespace', i, '') ?? '').trim();
				const minutes = boundedNumber('olderThanMinutes', ctx.getNodeParameter('olderThanMinutes', i, 0), 0, i);
				const limit = boundedNumber('limit', ctx.getNodeParameter('limit', i, 100), 100, i);
				const list = await store.listOpenExceptions({
					namespace: namespace ? validateNamespace(namespace) : null,
					owner: String(ctx.getNodeParameter('owner', i, '') ?? '').trim() || null,
					reason: String(ctx.getNodeParameter('reason', i, '') ?? '').trim() || null,
					olderThanMs: minutes > 0 ? minutes * 60_000 : null,
					limit,
				});
				for (const exception of list) {
					out.push({ json: presentException(exception, executionUrlOf(ctx, exception.workflowId, exception.executionId)), pairedItem });
				}
			} else {
				throw new InvalidInputError(`Unknown operation "${operation}"`);
			}
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			out.push({ json: { ...items[i].json, error: problem.message }, pairedItem });
		}
	}
	return [out];
}

export async function executeRouter(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0, 'route') as string;
	const items = this.getInputData();
	if (items.length === 0) {
		const rules = ((this.getNodeParameter('rules', 0, {}) as { rule?: unknown[] }).rule ?? []).length;
		return operation === 'route' ? Array.from({ length: rules + 1 }, () => []) : [[]];
	}
	return withStore(this, 'The Exception Router failed', (store) =>
		operation === 'route' ? route(this, store) : others(this, store, operation),
	);
}
