// Splits one input into the claims the store must decide and the items the Guard decides itself
// (`duplicate_in_batch`: the same key earlier in this input). Pure.

import type { ClaimRequest } from '../store/types';

/** One item's key as the Guard read it. */
export interface PreparedItem {
	index: number;
	namespace: string;
	key: string;
	fingerprint: string | null;
	/** The key as earlier versions stored it, when its text has the hashed form (keys.ts legacyKeyOf). */
	legacyKey?: string;
}

/**
 * One distinct (namespace, key) of the input: the record that travels from the item to the store
 * call and back (claims.ts takes it as it is and answers per record).
 */
export interface Claim {
	namespace: string;
	/** What the store decides: the key, the fingerprint, and the in-batch repeats to record. */
	request: ClaimRequest;
	/** The input item the key was first read from: it gets the store's decision. */
	firstIndex: number;
	legacyKey?: string;
}

export interface BatchPlan {
	/** One claim per distinct (namespace, key), in order of first appearance. */
	claims: Claim[];
	/** Later items with a key already in the input: their first item, and whether the payload differs. */
	repeats: Map<number, { firstIndex: number; mismatch: boolean }>;
}

export function planBatch(items: readonly PreparedItem[]): BatchPlan {
	const claims: Claim[] = [];
	const repeats: BatchPlan['repeats'] = new Map();
	const first = new Map<string, Claim>();
	for (const item of items) {
		const id = `${item.namespace.length}:${item.namespace}${item.key}`;
		const earlier = first.get(id);
		if (!earlier) {
			const claim: Claim = { namespace: item.namespace, request: { key: item.key, fingerprint: item.fingerprint }, firstIndex: item.index };
			if (item.legacyKey !== undefined) claim.legacyKey = item.legacyKey;
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
