// One store (and so one connection pool) per credential per n8n process, shared by every
// execution and every node of this package: no new connection per execution. A store whose
// credential changed is a new entry; the old one is closed once replaced.

import { createHash } from 'crypto';
import { openStore, type StoreConfig } from './backends';
import type { IdempotencyStore } from './types';

export type { StoreConfig } from './backends';

const stores = new Map<string, IdempotencyStore>();
/** Stores replaced by an edited credential, closing soon; closeAllStores() closes them at once. */
const retiring = new Set<IdempotencyStore>();
/** The latest fingerprint per credential id, so an edited credential replaces its pool. */
const latestByCredential = new Map<string, string>();

function fingerprint(config: StoreConfig): string {
	return createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

export function storeFor(config: StoreConfig, credentialId?: string): IdempotencyStore {
	const id = fingerprint(config);
	const existing = stores.get(id);
	const store = existing ?? openStore(config);
	if (!existing) stores.set(id, store);
	if (credentialId) {
		const previous = latestByCredential.get(credentialId);
		latestByCredential.set(credentialId, id);
		if (previous && previous !== id) {
			const old = stores.get(previous);
			stores.delete(previous);
			if (old) {
				retiring.add(old);
				// Let calls already under way finish before the old pool closes.
				setTimeout(() => {
					retiring.delete(old);
					void old.close().catch(() => undefined);
				}, 60_000).unref();
			}
		}
	}
	return store;
}

/** Closes every pooled store (tests, shutdown). */
export async function closeAllStores(): Promise<void> {
	const all = [...stores.values(), ...retiring];
	stores.clear();
	retiring.clear();
	latestByCredential.clear();
	await Promise.all(all.map((store) => store.close().catch(() => undefined)));
}
