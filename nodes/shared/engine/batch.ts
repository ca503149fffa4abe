// Splits one input into the claims the store must decide and the items the Guard decides itself
// (`duplicate_in_batch`: the same key earlier in this input). Pure.

import type { ClaimRequest } from '../store/types';

export interface PreparedItem {
	index: number;
	namespace: string;
	key: string;
	fingerprint: string | null;
}

export interface BatchPlan {
	/** One request per distinct (namespace, key), in order of first appearance. */
	claims: Array<{ namespace: string; request: ClaimRequest; firstIndex: number }>;
	/** Later items with a key already in the input: their first item, and whether the payload differs. */
	repeats: Map<number, { firstIndex: number; mismatch: boolean }>;
}

export function planBatch(items: readonly PreparedItem[]): BatchPlan {
	const claims: BatchPlan['claims'] = [];
	const repeats: BatchPlan['repeats'] = new Map();
	const first = new Map<string, BatchPlan['claims'][number]>();
	for (const item of items) {
		const id = `${item.namespace.length}:${item.namespace}${item.key}`;
		const earlier = first.get(id);
		if (!earlier) {
			const claim = { namespace: item.namespace, request: { key: item.key, fingerprint: item.fingerprint }, firstIndex: item.index };
			first.set(id, claim);
			claims.push(claim);
			continue;
		}
		const a = earlier.request.fingerprint;
		const mismatch = a !== null && item.fingerprint !== null && a !== item.fingerprint;
		repeats.set(item.index, { firstIndex: earlier.firstIndex, mismatch });
		const counts = (earlier.request.repeats ??= { duplicates: 0, mismatches: 0 });
		if (mismatch) counts.mismatches++;
		else counts.duplicates++;
	}
	return { claims, repeats };
}

// Kept here for the engine's callers; they live in util/lists.ts so the store layer can share them.
export { chunk, groupBy } from '../util/lists';
