// Finds the Guard's `_idempotency` for an item: on the item itself, or — when a node in between
// (an HTTP Request writing to a CRM, say) replaced the json with its response — by following the
// item's paired-item lineage back to the nearest upstream Idempotency Guard. Users never have to
// write $('Guard').item expressions for the canonical Guard → write → Ledger flow.

import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

export const GUARD_TYPE = 'n8n-nodes-idempotency.idempotencyGuard';

export interface FoundMetadata {
	namespace: string;
	/** Null when the Guard found no business key (reason missing_key). */
	key: string | null;
	claimToken: string | null;
	reason: string | null;
	attempt: number;
	state: string | null;
	/** Where it was found: 'item' or the name of the upstream Guard. */
	source: string;
	raw: IDataObject;
}

function parse(value: unknown, source: string): FoundMetadata | null {
	if (!value || typeof value !== 'object') return null;
	const meta = value as IDataObject;
	if (typeof meta.namespace !== 'string' || (typeof meta.key !== 'string' && meta.key !== null)) return null;
	return {
		namespace: meta.namespace,
		key: meta.key,
		claimToken: typeof meta.claimToken === 'string' ? meta.claimToken : null,
		reason: typeof meta.reason === 'string' ? meta.reason : null,
		attempt: typeof meta.attempt === 'number' ? meta.attempt : 0,
		state: typeof meta.state === 'string' ? meta.state : null,
		source,
		raw: meta,
	};
}

/**
 * Upstream nodes of these types, nearest first. n8n's getParentNodes lists the farthest ancestors
 * first, so the order is made here: a node upstream of another one found comes after it. With
 * Guards in a row (an order Guard, then a contact Guard), the Ledger after the write marks the
 * nearest one.
 */
export function upstreamOfTypes(ctx: IExecuteFunctions, types: readonly string[]): string[] {
	try {
		const parents = ctx.getParentNodes(ctx.getNode().name) ?? [];
		const found = parents.filter((parent) => types.includes(parent.type)).map((parent) => parent.name);
		if (found.length < 2) return found;
		// For each node found, how many of the others lie downstream of it.
		const below = new Map(found.map((name) => [name, 0]));
		for (const name of found) {
			for (const ancestor of ctx.getParentNodes(name) ?? []) {
				const count = below.get(ancestor.name);
				if (count !== undefined) below.set(ancestor.name, count + 1);
			}
		}
		return [...found].sort((a, b) => below.get(a)! - below.get(b)!);
	} catch {
		return [];
	}
}

/** Upstream Guards, nearest first. */
export function upstreamGuards(ctx: IExecuteFunctions): string[] {
	return upstreamOfTypes(ctx, [GUARD_TYPE]);
}

/**
 * The metadata of item `itemIndex`, or null when neither the item nor its lineage carries any.
 * `guards` is upstreamGuards(ctx), computed once per execution.
 */
export function findMetadata(ctx: IExecuteFunctions, itemIndex: number, guards: readonly string[]): FoundMetadata | null {
	return findOnLineage(ctx, itemIndex, guards, (json, source) => parse(json?._idempotency, source));
}

/**
 * What `read` finds on item `itemIndex`'s own json, or else on the item it pairs to in each of
 * `nodes` (nearest first); null when none has it.
 */
export function findOnLineage<T>(
	ctx: IExecuteFunctions,
	itemIndex: number,
	nodes: readonly string[],
	read: (json: IDataObject | undefined, source: string) => T | null,
): T | null {
	const own = read(ctx.getInputData()[itemIndex]?.json, 'item');
	if (own) return own;
	if (nodes.length === 0) return null;
	let proxy: ReturnType<IExecuteFunctions['getWorkflowDataProxy']>;
	try {
		proxy = ctx.getWorkflowDataProxy(itemIndex);
	} catch {
		return null;
	}
	for (const node of nodes) {
		try {
			const paired = proxy.$(node).item as { json?: IDataObject } | undefined;
			const found = read(paired?.json, node);
			if (found) return found;
		} catch {
			// This node is not on this item's lineage (another branch); try the next one.
		}
	}
	return null;
}
