// The per-item conventions every node of this package keeps: an item's problem fails the node
// with the item's index and a hint (errors.ts itemError) — or, under continueOnFail, that item
// comes out with `error` and `errorHint` set, paired to its input, and the other items carry on. Output items
// keep their input's binary and say which input item they came from.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, NodeOperationError } from 'n8n-workflow';
import { errorFields, itemError } from './errors';

/** An output item made from input item `index`: `json` as its json, its binary kept, paired to it. */
export function outputItem(items: readonly INodeExecutionData[], index: number, json: IDataObject): INodeExecutionData {
	const out: INodeExecutionData = { json, pairedItem: { item: index } };
	if (items[index].binary) out.binary = items[index].binary;
	return out;
}

/** What a failed item becomes under continueOnFail: its input json with `error` (and `errorHint`) set. */
export function errorItem(items: readonly INodeExecutionData[], index: number, error: NodeOperationError): INodeExecutionData {
	return { json: { ...items[index].json, ...errorFields(error) }, pairedItem: { item: index } };
}

/**
 * Runs `work` for each input item in order and gathers what it returns. An item whose work
 * throws fails the node, or under continueOnFail gives its error item instead.
 */
export async function eachItem(
	ctx: IExecuteFunctions,
	work: (itemIndex: number) => Promise<INodeExecutionData[]>,
): Promise<INodeExecutionData[]> {
	const items = ctx.getInputData();
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			out.push(...(await work(i)));
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			out.push(errorItem(items, i, problem));
		}
	}
	return out;
}

export interface PreparedItems<T> {
	/** What `prepare` gave, by input index, in input order (undefined results left out). */
	prepared: Array<{ index: number; value: T }>;
	/** Under continueOnFail: the items whose preparation threw, with their error. */
	failed: Map<number, NodeOperationError>;
}

/**
 * The first phase of a batched operation: reads each item's inputs before one round trip to the
 * store for all of them. An item whose preparation throws fails the node, or under
 * continueOnFail is set aside with its error; `prepare` returning undefined skips the item.
 */
export function prepareItems<T>(ctx: IExecuteFunctions, prepare: (itemIndex: number) => T | undefined): PreparedItems<T> {
	const count = ctx.getInputData().length;
	const prepared: Array<{ index: number; value: T }> = [];
	const failed = new Map<number, NodeOperationError>();
	for (let i = 0; i < count; i++) {
		try {
			const value = prepare(i);
			if (value !== undefined) prepared.push({ index: i, value });
		} catch (error) {
			const problem = itemError(ctx, error, i);
			if (!ctx.continueOnFail()) throw problem;
			failed.set(i, problem);
		}
	}
	return { prepared, failed };
}

/** Sorts each output's items back into input order (by pairedItem). */
export function inInputOrder(outputs: INodeExecutionData[][]): INodeExecutionData[][] {
	for (const list of outputs) list.sort((a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item);
	return outputs;
}
