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
 * Upstream Guards, nearest first. n8n's getParentNodes lists the farthest ancestors first, so
 * the order is made here: a Guard upstream of another Guard comes after it. With Guards in a
 * row (an order Guard, then a contact Guard), the Ledger after the write marks the nearest one.
 */
export function upstreamGuards(ctx: IExecuteFunctions): string[] {
	try {
		const parents = ctx.getParentNodes(ctx.getNode().name) ?? [];
		const guards = parents.filter((parent) => parent.type === GUARD_TYPE).map((parent) => parent.name);
		if (guards.length < 2) return guards;
		// For each Guard, how many of the others lie downstream of it.
		const below = new Map(guards.map((guard) => [guard, 0]));
		for (const guard of guards) {
			for (const ancestor of ctx.getParentNodes(guard) ?? []) {
				const count = below.get(ancestor.name);
				if (count !== undefined) below.set(ancestor.name, count + 1);
			}
		}
		return [...guards].sort((a, b) => below.get(a)! - below.get(b)!);
	} catch {
		return [];
	}
}

/**
 * The metadata of item `itemIndex`, or null when neither the item nor its lineage carries any.
 * `guards` is upstreamGuards(ctx), computed once per execution.
 */
export function findMetadata(ctx: IExecuteFunctions, itemIndex: number, guards: readonly string[]): FoundMetadata | null {
	const own = parse(ctx.getInputData()[itemIndex]?.json?._idempotency, 'item');
	if (own) return own;
	if (guards.length === 0) return null;
	let proxy: ReturnType<IExecuteFunctions['getWorkflowDataProxy']>;
	try {
		proxy = ctx.getWorkflowDataProxy(itemIndex);
	} catch {
		return null;
	}
	for (const guard of guards) {
		try {
			const paired = proxy.$(guard).item as { json?: IDataObject } | undefined;
			const found = parse(paired?.json?._idempotency, guard);
			if (found) return found;
		} catch {
			// This Guard is not on this item's lineage (another branch); try the next one.
		}
	}
	return null;
}
