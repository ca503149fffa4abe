// Indexes that outlive their records (issue 11 item 8): Redis frees a settled record and its
// history by TTL (retention + a day's grace), but the namespace indexes (i:keys, i:state:*,
// i:expires) kept every key, ~280 bytes each, until a purge — which then reported 0 records.
// Now the claim and transition scripts drop the index entries of records Redis has freed, a key
// claimed again leaves its stale entries, and purge counts what it removed. A namespace nobody
// writes to any more: its indexes expire with its longest-lived record (lua/includes/request.lua).
//
// The records really expire by Redis TTL; only the day of grace is shortened, by giving their
// keys a 1 ms TTL as the grace would have done a day later.

import { randomUUID } from 'crypto';
import { NamespaceKeys } from '../../../nodes/shared/store/redis/keys';
import { scriptsBesideStore } from '../../helpers/redis';
import { claimPolicy, TEST_ACTOR } from '../../helpers/claims';

const GRACE_MS = 24 * 3_600_000;
const policy = claimPolicy({ retentionMs: 1_000 });
const actor = TEST_ACTOR;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Redis indexes follow their records', () => {
	const { prefix, client: admin, store } = scriptsBesideStore('indexes');

	const indexSizes = async (keys: NamespaceKeys) => ({
		keys: await admin.zcard(keys.keysIndex),
		processed: await admin.zcard(keys.stateIndex('processed')),
		expires: await admin.zcard(keys.expiryIndex),
	});

	/** Claims and settles `count` keys with a 1 s retention, then lets Redis expire them. */
	async function settleAndExpire(ns: string, count: number): Promise<{ keys: NamespaceKeys; names: string[] }> {
		const keys = new NamespaceKeys(prefix, ns);
		const names = Array.from({ length: count }, (_, i) => `k-${i}`);
		const claims = await store.claim(ns, names.map((key) => ({ key, fingerprint: null })), policy, actor);
		await store.transition(
			ns,
			claims.map((c) => ({ key: c.key, kind: 'markProcessed' as const, claimToken: c.claimToken, verifyClaim: true, force: false, retentionMs: 0 })),
			actor,
		);
		expect(await indexSizes(keys)).toEqual({ keys: count, processed: count, expires: count });
		// The records' own TTL (retention + grace) is real; the grace is cut short here.
		for (const name of names) {
			expect(await admin.pttl(keys.record(name))).toBeGreaterThan(GRACE_MS);
			await admin.pexpire(keys.record(name), 1);
			await admin.pexpire(keys.history(name), 1);
		}
		await sleep(20);
		expect(await admin.exists(...names.map((name) => keys.record(name)))).toBe(0);
		return { keys, names };
	}

	it('purge removes the index entries of records Redis expired, and counts them', async () => {
		const ns = `purge-${randomUUID()}`;
		const { keys } = await settleAndExpire(ns, 40);
		await sleep(1_050); // past the 1 s retention: purge's own window
		const purged = await store.purge(ns);
		expect(purged.records).toBe(40);
		expect(await indexSizes(keys)).toEqual({ keys: 0, processed: 0, expires: 0 });
		expect((await store.purge(ns)).records).toBe(0);
	});

	it('the next claim drops them without a purge', async () => {
		const ns = `claim-${randomUUID()}`;
		const { keys } = await settleAndExpire(ns, 40);
		// A day later (the grace), by the store's injected clock: another key is claimed.
		const [other] = await store.claim(ns, [{ key: 'other', fingerprint: null }], policy, actor, Date.now() + GRACE_MS + 5_000);
		expect(other.outcome).toBe('new');
		expect(await indexSizes(keys)).toEqual({ keys: 1, processed: 0, expires: 0 });
	});

	it('a key claimed again after Redis expired it leaves no stale entry in its old state index', async () => {
		const ns = `again-${randomUUID()}`;
		const { keys } = await settleAndExpire(ns, 1);
		const [again] = await store.claim(ns, [{ key: 'k-0', fingerprint: null }], policy, actor);
		expect(again.outcome).toBe('new');
		expect(await admin.zscore(keys.stateIndex('processed'), 'k-0')).toBeNull();
		expect(await admin.zscore(keys.expiryIndex, 'k-0')).toBeNull();
		expect(await admin.zscore(keys.stateIndex('processing'), 'k-0')).not.toBeNull();
	});

	it('list skips the entries of records that are gone and drops them', async () => {
		const ns = `list-${randomUUID()}`;
		const { keys } = await settleAndExpire(ns, 10);
		expect((await store.list(ns, { limit: 100 })).records).toEqual([]);
		expect(await indexSizes(keys)).toEqual({ keys: 0, processed: 0, expires: 0 });
	});

	it('an idle namespace: its indexes expire with its longest-lived record, its counters after 100 days; a live claim keeps them', async () => {
		const ns = `idle-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		const recordIndexes = keys.scriptKeys.slice(0, 7);
		// Two retentions: 1 s and 2 h.
		const claims = [
			...(await store.claim(ns, [{ key: 'a', fingerprint: null }], policy, actor)),
			...(await store.claim(ns, [{ key: 'b', fingerprint: null }], { ...policy, retentionMs: 7_200_000 }, actor)),
		];
		// A claim lives until it is settled: the indexes are kept.
		for (const index of [keys.keysIndex, keys.stateIndex('processing'), keys.leaseIndex]) expect(await admin.pttl(index)).toBe(-1);
		await store.transition(
			ns,
			claims.map((c) => ({ key: c.key, kind: 'markProcessed' as const, claimToken: c.claimToken, verifyClaim: true, force: false, retentionMs: 0 })),
			actor,
		);
		// Every record settled with a retention: the indexes go when the last record does (+ an hour).
		const longest = await admin.pttl(keys.record('b'));
		expect(longest).toBeGreaterThan(GRACE_MS + 3_600_000);
		for (const index of recordIndexes) {
			if ((await admin.exists(index)) === 0) continue;
			const ttl = await admin.pttl(index);
			expect(ttl).toBeGreaterThanOrEqual(longest);
			expect(ttl).toBeLessThanOrEqual(longest + 3_600_000 + 5_000);
		}
		for (const counters of [keys.stats, `${keys.stats}:hours`]) expect(await admin.pttl(counters)).toBeGreaterThan(100 * GRACE_MS);
		// A new claim: kept again.
		await store.claim(ns, [{ key: 'c', fingerprint: null }], policy, actor);
		expect(await admin.pttl(keys.keysIndex)).toBe(-1);
	});
});
