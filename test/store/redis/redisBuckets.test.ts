// A hot namespace on Redis Cluster (nodes/shared/store/redis/buckets.ts): spread over hash-tag
// buckets that sit evenly over the masters, with list, stats, purge, feeds and open exceptions
// exact across buckets, one `new` per key under concurrent claimers, and namespaces written in
// the one-slot layout by the package before buckets (the release kept as a fixture, test/helpers/releasedStore.ts)
// still read and written where their data is. On the cluster REDIS_CLUSTER_NODES names, else on
// three local masters this file starts and stops.

import { randomUUID } from 'crypto';
import { Cluster, type Redis } from 'ioredis';
import { join } from 'path';
import {
	bucketOfKey,
	bucketSuffixes,
	CLUSTER_BUCKETS,
	slotOfTag,
	spreadLayout,
} from '../../../nodes/shared/store/redis/buckets';
import { NamespaceKeys, namespaceTag, openExceptionsEverywhere, parseExceptionId } from '../../../nodes/shared/store/redis/keys';
import { RedisStore, type RedisStoreConfig } from '../../../nodes/shared/store/redis/RedisStore';
import type { Actor, ClaimPolicy, KeyRecord, OpenExceptionRequest, TransitionRequest } from '../../../nodes/shared/store/types';
import { startLocalCluster, type LocalCluster } from '../../helpers/redisCluster';
import { releasedTree } from '../../helpers/releasedStore';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const clusterKeySlot = require('cluster-key-slot') as (key: string) => number;

/** The last commit whose Redis store knew only the one-slot layout. */
const TEST_CLIENT_OPTIONS = { disconnectTimeout: 100 };
const prefix = `test:buckets:${randomUUID().slice(0, 8)}:`;
const actor: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };
const policy: ClaimPolicy = { leaseMs: 60_000, retentionMs: 86_400_000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
const T0 = 1_900_000_000_000;
const HOUR = 3_600_000;

type StoreClass = typeof RedisStore;

/** The RedisStore of the release before buckets (test/helpers/releasedStore.ts), compiled like the rest. */
function oneSlotStoreClass(): StoreClass {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return (require(join(releasedTree(), 'nodes/shared/store/redis/RedisStore')) as { RedisStore: StoreClass }).RedisStore;
}

const processed = (key: string, claimToken: string | null, result: unknown): TransitionRequest => ({
	kind: 'markProcessed',
	key,
	claimToken,
	verifyClaim: true,
	force: false,
	resultJson: JSON.stringify(result),
	retentionMs: 0,
});

let local: LocalCluster | null = null;
let config: RedisStoreConfig;
let admin: Cluster;
const stores: RedisStore[] = [];
const open = (Store: StoreClass = RedisStore): RedisStore => {
	const store = new Store(config);
	stores.push(store);
	return store;
};

/** The keys under the prefix that match `pattern` (after the prefix), by master. */
async function keysPerMaster(pattern: string): Promise<string[][]> {
	const found: string[][] = [];
	for (const node of admin.nodes('master') as Redis[]) {
		let cursor = '0';
		const keys: string[] = [];
		do {
			const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}${pattern}`, 'COUNT', 1000);
			cursor = next;
			keys.push(...batch);
		} while (cursor !== '0');
		found.push(keys);
	}
	return found;
}

/** How many record hashes under the prefix each master holds, by master. */
async function recordsPerMaster(namespace: string): Promise<number[]> {
	return (await keysPerMaster(`{${namespaceTag(namespace)}*:r:*`)).map((keys) => keys.length);
}

beforeAll(async () => {
	const nodes = process.env.REDIS_CLUSTER_NODES || (local = await startLocalCluster()).nodes;
	const [first] = nodes.split(',');
	config = { host: first.split(':')[0], port: Number(first.split(':')[1]), database: 0, tls: false, keyPrefix: prefix, mode: 'cluster', clusterNodes: nodes, allowNoPersistence: true };
	admin = new Cluster(nodes.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) })), { redisOptions: TEST_CLIENT_OPTIONS });
	await admin.ping();
});

afterAll(async () => {
	await Promise.all(stores.map((store) => store.close()));
	if (local) {
		await admin?.quit();
		await local.stop(); // its data goes with it
		return;
	}
	for (const node of (admin?.nodes('master') ?? []) as Redis[]) {
		let cursor = '0';
		do {
			const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
			cursor = next;
			for (const key of keys) await node.del(key);
		} while (cursor !== '0');
	}
	await admin?.quit();
});

describe('Redis Cluster buckets', () => {
	it('computes the slot Redis computes, and puts each bucket in the middle of its share of slots', async () => {
		for (const tag of ['crm-leads', '~w7FiIOaXpQ', 'a', `${'x'.repeat(200)}~17`]) {
			expect(slotOfTag(tag)).toBe(clusterKeySlot(tag));
			expect(slotOfTag(tag)).toBe(await admin.cluster('KEYSLOT', `${prefix}{${tag}}:r:k`));
		}
		const suffixes = bucketSuffixes('crm-leads', CLUSTER_BUCKETS);
		const width = 16384 / CLUSTER_BUCKETS;
		suffixes.forEach((suffix, i) => {
			const slot = slotOfTag(`crm-leads~${suffix}`);
			expect({ i, inMiddle: slot >= i * width + width / 4 && slot < (i + 1) * width - width / 4 }).toEqual({ i, inMiddle: true });
		});
	});

	it('spreads 10k keys of one namespace within ±15 % of a third on each of 3 masters', async () => {
		const store = open();
		const namespace = `hot-${randomUUID()}`;
		const keys = Array.from({ length: 10_000 }, (_, i) => `order-${i}`);
		for (let i = 0; i < keys.length; i += 1000) {
			const decisions = await store.claim(namespace, keys.slice(i, i + 1000).map((key) => ({ key, fingerprint: null })), policy, actor, T0);
			expect(decisions.every((d) => d.outcome === 'new')).toBe(true);
		}
		const counts = await recordsPerMaster(namespace);
		console.log(`records per master, 10k keys of one namespace: ${counts.join(' / ')}`);
		expect(counts.reduce((a, b) => a + b, 0)).toBe(keys.length);
		const third = keys.length / counts.length;
		for (const count of counts) {
			expect({ count, within: Math.abs(count - third) <= 0.15 * third }).toEqual({ count, within: true });
		}
		expect((await store.stats(namespace, HOUR, T0)).new).toBe(keys.length);
	});

	it('answers each key from its bucket, in request order, with repeats in a chunk seeing their own claim', async () => {
		const store = open();
		const namespace = `order-${randomUUID()}`;
		const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
		const first = await store.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), policy, actor, T0);
		expect(first.map((d) => [d.key, d.outcome])).toEqual(keys.map((key) => [key, 'new']));
		const settled = await store.transition(namespace, first.map((d) => processed(d.key, d.claimToken, { key: d.key })), actor, T0 + 1);
		expect(settled.map((r) => [r.key, r.applied])).toEqual(keys.map((key) => [key, true]));
		const mixed = ['fresh', ...keys.slice(0, 50).reverse(), 'fresh', 'k7'];
		const again = await store.claim(namespace, mixed.map((key) => ({ key, fingerprint: null })), policy, actor, T0 + 2);
		expect(again.map((d) => [d.key, d.reason])).toEqual(
			mixed.map((key, i) => [key, key !== 'fresh' ? 'already_processed' : i === 0 ? 'first_seen' : 'in_progress']),
		);
		expect(again.slice(1, 51).map((d) => d.result)).toEqual(keys.slice(0, 50).reverse().map((key) => ({ key })));
		// the keys are really spread: their records sit in every bucket's slot
		const slots = new Set(keys.map((key) => clusterKeySlot(spreadLayout(prefix, namespace).keysOf(key).record(key))));
		expect(slots.size).toBe(CLUSTER_BUCKETS);
		expect(await admin.exists(new NamespaceKeys(prefix, namespace).record('k1'))).toBe(0);
		expect(await admin.get(new NamespaceKeys(prefix, namespace).layoutMarker)).toBe(`buckets:${CLUSTER_BUCKETS}`);
	});

	it('lists across buckets in key, updatedAt and lease order, page by page, each record once', async () => {
		const store = open();
		const namespace = `list-${randomUUID()}`;
		const keys = Array.from({ length: 240 }, (_, i) => `key-${String(i * 7919 % 1000).padStart(3, '0')}-${i}`);
		// processing with leases ending at different times; processed at different times
		const decisions = [];
		for (let i = 0; i < keys.length; i += 40) {
			decisions.push(...(await store.claim(namespace, keys.slice(i, i + 40).map((key) => ({ key, fingerprint: null })), { ...policy, leaseMs: 1000 + i }, actor, T0 + i)));
		}
		const toSettle = decisions.filter((_, i) => i % 3 === 0);
		for (let i = 0; i < toSettle.length; i += 10) {
			await store.transition(namespace, toSettle.slice(i, i + 10).map((d) => processed(d.key, d.claimToken, 1)), actor, T0 + 500 + i);
		}
		const drain = async (query: { state?: 'processed' | 'processing'; stuckOnly?: boolean }, at: number) => {
			const seen: KeyRecord[] = [];
			let cursor: string | null = null;
			let pages = 0;
			do {
				const page = await store.list(namespace, { ...query, limit: 7, cursor }, at);
				seen.push(...page.records);
				cursor = page.nextCursor;
				pages++;
			} while (cursor !== null && pages < 200);
			return seen;
		};
		const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

		const all = await drain({}, T0 + 1000);
		expect(all.map((r) => r.key)).toEqual([...keys].sort(bytes));

		const done = await drain({ state: 'processed' }, T0 + 1000);
		const byUpdated = (a: KeyRecord, b: KeyRecord) => a.updatedAt - b.updatedAt || bytes(a.key, b.key);
		const settledRecords = await Promise.all(toSettle.map((d) => store.get(namespace, d.key) as Promise<KeyRecord>));
		expect(done.map((r) => r.key)).toEqual(settledRecords.sort(byUpdated).map((r) => r.key));

		const at = T0 + 1150;
		const stuck = await drain({ stuckOnly: true }, at);
		const live = (await Promise.all(keys.map((key) => store.get(namespace, key)))) as KeyRecord[];
		const expected = live
			.filter((r) => r.state === 'processing' && (r.leaseUntil as number) <= at)
			.sort((a, b) => (a.leaseUntil as number) - (b.leaseUntil as number) || bytes(a.key, b.key));
		expect(expected.length).toBeGreaterThan(30);
		expect(stuck.map((r) => r.key)).toEqual(expected.map((r) => r.key));
	});

	it('sums stats, purges and counts open exceptions over every bucket', async () => {
		const store = open();
		const namespace = `stats-${randomUUID()}`;
		const keys = Array.from({ length: 120 }, (_, i) => `s${i}`);
		const decisions = await store.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), { ...policy, retentionMs: 1000 }, actor, T0);
		await store.transition(namespace, decisions.slice(0, 80).map((d) => processed(d.key, d.claimToken, 1)), actor, T0 + 1);
		await store.claim(namespace, keys.slice(0, 30).map((key) => ({ key, fingerprint: null })), policy, actor, T0 + 2);
		const exceptions = await store.recordExceptions(namespace, keys.slice(80, 110).map((key) => ({ key, reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'Ops' })), actor, T0 + 3);
		expect(new Set(exceptions.map((e) => e.id.split('.')[1])).size).toBeGreaterThan(10); // ids name their bucket

		const stats = await store.stats(namespace, HOUR, T0 + 10);
		expect({ new: stats.new, processed: stats.processed, duplicate: stats.duplicate, openExceptions: stats.openExceptions }).toEqual({ new: 120, processed: 80, duplicate: 30, openExceptions: 30 });

		const listed = await store.listOpenExceptions({ namespace, limit: 1000 });
		expect(listed.map((e) => e.key).sort()).toEqual(keys.slice(80, 110).sort());
		const oldestFirst = await store.listOpenExceptions({ namespace, limit: 5 });
		expect(oldestFirst).toHaveLength(5);
		expect((await store.getException(exceptions[7].id))?.key).toBe(keys[87]);
		const resolved = await store.resolveException({ id: exceptions[7].id, namespace: null, key: null, resolution: 'discard', resolvedBy: 'me', note: null, resultJson: null }, actor, T0 + 11);
		expect(resolved.exceptions.map((e) => e.key)).toEqual([keys[87]]);
		expect((await store.resolveException({ id: null, namespace, key: keys[88], resolution: 'discard', resolvedBy: 'me', note: null, resultJson: null }, actor, T0 + 12)).exceptions).toHaveLength(1);
		expect((await store.stats(namespace, HOUR, T0 + 13)).openExceptions).toBe(28);

		// the 80 processed records expire 1 s after they settled; the other 40 are still processing
		expect(await store.purge(namespace, T0 + 5000)).toEqual({ records: 80, history: 80 * 2 + 30 });
		expect((await store.list(namespace, { limit: 1000 }, T0 + 5000)).records).toHaveLength(40);
	});

	it('hands out stuck claims and exceptions of a spread namespace in feed order, each once', async () => {
		const store = open();
		const namespace = `feed-${randomUUID()}`;
		const T = T0 + 7 * 24 * HOUR;
		const keys = Array.from({ length: 90 }, (_, i) => `f${i}`);
		for (let i = 0; i < keys.length; i += 30) {
			await store.claim(namespace, keys.slice(i, i + 30).map((key) => ({ key, fingerprint: null })), { ...policy, leaseMs: 100 }, actor, T + i);
		}
		const stuck: KeyRecord[] = [];
		let from = { at: T, after: null as string[] | null };
		for (let page = 0; page < 50; page++) {
			const read = await store.stuckClaims({ namespace, from, until: T + 1000, limit: 8 });
			stuck.push(...read.events);
			from = read.next;
			if (read.events.length < 8) break;
		}
		const bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
		const expected = keys
			.map((key, i) => ({ key, leaseUntil: T + 30 * Math.floor(i / 30) + 100 }))
			.sort((a, b) => a.leaseUntil - b.leaseUntil || bytes(a.key, b.key));
		expect(stuck.map((r) => r.key)).toEqual(expected.map((r) => r.key));

		await store.recordExceptions(namespace, keys.slice(0, 40).map((key) => ({ key, reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops' })), actor, T + 2000);
		const seen = [];
		let at = { at: T + 1999, after: null as string[] | null };
		for (let page = 0; page < 50; page++) {
			const read = await store.exceptionsSeen({ namespace, from: at, until: T + 3000, limit: 6 });
			seen.push(...read.events);
			at = read.next;
			if (read.events.length < 6) break;
		}
		expect(seen.map((e) => e.key).sort()).toEqual(keys.slice(0, 40).sort());
		expect(new Set(seen.map((e) => e.id)).size).toBe(40);
		const everywhere = await store.exceptionsSeen({ namespace: null, from: { at: T + 1999, after: null }, until: T + 3000, limit: 1000 });
		expect(everywhere.events.filter((e) => e.namespace === namespace)).toHaveLength(40);
	});

	it('takes a chunk all or nothing across buckets: when one bucket refuses, the claims of the others are undone', async () => {
		const store = open();
		const namespace = `split-${randomUUID()}`;
		const layout = spreadLayout(prefix, namespace);
		const keys = Array.from({ length: 200 }, (_, i) => `p${i}`);
		// a key settled earlier, in a bucket that will answer: its undo must give its record back
		const [earlier] = await store.claim(namespace, [{ key: 'p0', fingerprint: null }], policy, actor, T0);
		await store.transition(namespace, [{ ...processed('p0', earlier.claimToken, 1), kind: 'markFailed', resultJson: null, errorMessage: 'boom' }], actor, T0 + 1);
		// one bucket's stats key holds a string: that bucket's script refuses before it writes
		const refusing = layout.keysOf(keys.find((key) => layout.keysOf(key) !== layout.keysOf('p0'))!);
		const answering = keys.filter((key) => layout.keysOf(key) !== refusing);
		expect(answering.length).toBeGreaterThan(150);
		await admin.set(refusing.stats, 'not a hash');
		await expect(store.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), policy, actor, T0 + 2)).rejects.toThrow(/WRONGTYPE|holds a string/);
		const left = await Promise.all(answering.map((key) => store.get(namespace, key)));
		expect(left.filter((record) => record !== null).map((record) => [record!.key, record!.state])).toEqual([['p0', 'failed']]);
		await admin.del(refusing.stats);
		const again = await store.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), policy, actor, T0 + 3);
		expect(again.map((d) => d.reason)).toEqual(keys.map((key) => (key === 'p0' ? 'retry_after_failure' : 'first_seen')));
		expect(again[0].attempt).toBe(2);
	});

	it('records exceptions all or nothing across buckets: when one bucket refuses, the others are taken back and a retry counts once', async () => {
		const store = open();
		const namespace = `xsplit-${randomUUID()}`;
		const layout = spreadLayout(prefix, namespace);
		const keys = Array.from({ length: 120 }, (_, i) => `x${i}`);
		const exception = (key: string, reason = 'write_timeout', over: Partial<OpenExceptionRequest> = {}): OpenExceptionRequest => ({ key, reason, owner: 'ops', severity: 'high', route: 'Ops', ...over });
		// open already: an exception of 20 keys, and an incident (grouped by key) of 10 more
		await store.recordExceptions(namespace, keys.slice(0, 20).map((key) => exception(key)), actor, T0);
		await store.recordExceptions(namespace, keys.slice(20, 30).map((key) => exception(key, 'lease_expired', { groupBy: 'key' })), actor, T0);
		const before = await store.listOpenExceptions({ namespace, limit: 1000 });
		expect(before).toHaveLength(30);
		const indexedIds = async () => (await admin.zrange(openExceptionsEverywhere(prefix), 0, -1)).filter((id) => parseExceptionId(id)?.namespace === namespace);
		expect(await indexedIds()).toHaveLength(30);

		// one bucket's stats key holds a string: that bucket's script refuses before it writes
		const refusing = layout.keysOf('x119');
		const answering = keys.filter((key) => layout.keysOf(key) !== refusing);
		expect(answering.filter((key) => keys.indexOf(key) < 30).length).toBeGreaterThan(20); // most open ones answer
		await admin.set(refusing.stats, 'not a hash');
		const batch = [...keys.map((key) => exception(key)), ...keys.slice(20, 30).map((key) => exception(key, 'write_timeout', { groupBy: 'key' }))];
		const retry: Actor = { ...actor, executionId: 'ex-2' };
		await expect(store.recordExceptions(namespace, batch, retry, T0 + 5)).rejects.toThrow(/WRONGTYPE|holds a string/);

		// nothing opened, counted, re-attributed or re-scored in the feed; no reason added to the incidents
		expect(await store.listOpenExceptions({ namespace, limit: 1000 })).toEqual(before);
		const seen = await store.exceptionsSeen({ namespace, from: { at: T0, after: null }, until: T0 + 10, limit: 1000 });
		expect(seen.events).toEqual([]);
		// the cross-namespace index was written for the answering buckets; a list drops what the undo removed
		expect((await indexedIds()).length).toBeGreaterThan(30 + 50);
		const everywhere = await store.listOpenExceptions({ namespace: null, limit: 100_000 });
		expect(everywhere.filter((e) => e.namespace === namespace).map((e) => e.id).sort()).toEqual(before.map((e) => e.id).sort());
		expect(await indexedIds()).toHaveLength(30);

		await admin.del(refusing.stats);
		// the report's count of opened exceptions was taken back too (the refusing bucket's own
		// counters went with the string that replaced them)
		const opened = async () => (await store.report({ namespace, sinceMs: HOUR, bucket: 'hour' }, T0 + 8)).total.exceptionsOpened;
		const lost = keys.slice(0, 30).filter((key) => layout.keysOf(key) === refusing).length;
		expect(await opened()).toBe(30 - lost);
		const again = await store.recordExceptions(namespace, batch, retry, T0 + 7);
		expect(again.slice(0, 120).map((e) => [e.key, e.occurrences])).toEqual(keys.map((key, i) => [key, i < 20 ? 2 : 1]));
		expect(again.slice(120).map((e) => [e.key, e.occurrences, e.reasons])).toEqual(keys.slice(20, 30).map((key) => [key, 2, ['lease_expired', 'write_timeout']]));
		expect((await store.stats(namespace, HOUR, T0 + 8)).openExceptions).toBe(130);
		expect(await opened()).toBe(130 - lost);
		expect((await store.listOpenExceptions({ namespace: null, limit: 100_000 })).filter((e) => e.namespace === namespace)).toHaveLength(130);
	});

	it('reads a namespace no write has decided without leaving a key; the first write decides', async () => {
		const store = open();
		const namespace = `typo-${randomUUID()}`;
		const marker = new NamespaceKeys(prefix, namespace).layoutMarker;
		for (let round = 0; round < 2; round++) {
			expect(await store.get(namespace, 'k')).toBeNull();
			expect(await store.history(namespace, 'k')).toEqual([]);
			expect((await store.list(namespace, { limit: 10 }, T0)).records).toEqual([]);
			expect((await store.list(namespace, { state: 'processed', limit: 10 }, T0)).records).toEqual([]);
			expect((await store.stats(namespace, HOUR, T0)).openExceptions).toBe(0);
			expect(await store.purge(namespace, T0)).toEqual({ records: 0, history: 0 });
			expect(await store.listOpenExceptions({ namespace, limit: 10 })).toEqual([]);
			expect((await store.stuckClaims({ namespace, from: { at: T0, after: null }, until: T0 + 1000, limit: 10 })).events).toEqual([]);
			expect((await store.exceptionsSeen({ namespace, from: { at: T0, after: null }, until: T0 + 1000, limit: 10 })).events).toEqual([]);
		}
		expect(await keysPerMaster(`{${namespaceTag(namespace)}*`)).toEqual([[], [], []]);
		expect(await admin.exists(marker)).toBe(0);

		await store.claim(namespace, [{ key: 'k', fingerprint: null }], policy, actor, T0);
		expect(await admin.get(marker)).toBe(`buckets:${CLUSTER_BUCKETS}`);
		expect(await admin.exists(spreadLayout(prefix, namespace).keysOf('k').record('k'))).toBe(1);
		expect((await store.get(namespace, 'k'))?.state).toBe('processing');
		expect((await open().list(namespace, { limit: 10 }, T0)).records.map((r) => r.key)).toEqual(['k']);
	});

	it('gives exactly one new among 30 concurrent claimers of one key, from fresh stores of a fresh namespace', async () => {
		for (let round = 0; round < 5; round++) {
			const namespace = `race-${randomUUID()}`;
			const claimers = Array.from({ length: 30 }, () => open());
			const outcomes = await Promise.all(
				claimers.map(async (store, i) => {
					const keys = ['shared', `own-${i}`, 'other-shared'];
					const decisions = await store.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), policy, actor);
					return decisions.filter((d) => d.key !== `own-${i}`).map((d) => `${d.key}:${d.outcome}`);
				}),
			);
			const news = outcomes.flat().filter((o) => o.endsWith(':new')).sort();
			expect({ round, news }).toEqual({ round, news: ['other-shared:new', 'shared:new'] });
			await Promise.all(claimers.map((store) => store.close()));
			stores.splice(stores.length - claimers.length);
		}
	});
});

describe('a namespace written in the one-slot layout', () => {
	let OneSlotStore: StoreClass;
	beforeAll(() => {
		OneSlotStore = oneSlotStoreClass();
	});

	it('keeps its layout: duplicates, list, stats, purge, stuck claims and exceptions see the old data', async () => {
		const namespace = `legacy-${randomUUID()}`;
		const keys = Array.from({ length: 60 }, (_, i) => `old-${i}`);
		const before = open(OneSlotStore);
		const claimed = await before.claim(namespace, keys.map((key) => ({ key, fingerprint: null })), { ...policy, leaseMs: 100, retentionMs: 1000 }, actor, T0);
		await before.transition(namespace, claimed.slice(0, 40).map((d) => processed(d.key, d.claimToken, { id: d.key })), actor, T0 + 1);
		const [oldException] = await before.recordExceptions(namespace, [{ key: 'old-50', reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops' }], actor, T0 + 2);
		await before.close();
		const oneSlot = new NamespaceKeys(prefix, namespace);
		expect(await admin.exists(oneSlot.record('old-0'))).toBe(1);
		expect(await admin.exists(oneSlot.layoutMarker)).toBe(0); // the old code knows no marker

		const store = open();
		const again = await store.claim(namespace, [...keys, 'new-1'].map((key) => ({ key, fingerprint: null })), policy, actor, T0 + 200);
		expect(again.slice(0, 40).map((d) => [d.outcome, d.result])).toEqual(keys.slice(0, 40).map((key) => ['duplicate', { id: key }]));
		expect(again.slice(40, 60).map((d) => d.reason)).toEqual(keys.slice(40).map(() => 'lease_expired'));
		expect(again[60].outcome).toBe('new');
		expect(await admin.get(oneSlot.layoutMarker)).toBe('single');
		expect(await admin.exists(oneSlot.record('new-1'))).toBe(1); // new keys join the old slot

		expect((await store.list(namespace, { limit: 1000 }, T0 + 300)).records).toHaveLength(61);
		expect((await store.list(namespace, { state: 'processed', limit: 1000 }, T0 + 300)).records).toHaveLength(40);
		const stats = await store.stats(namespace, HOUR, T0 + 300);
		expect({ new: stats.new, processed: stats.processed, duplicate: stats.duplicate, ambiguous: stats.ambiguous, openExceptions: stats.openExceptions }).toEqual({ new: 61, processed: 40, duplicate: 40, ambiguous: 20, openExceptions: 1 });
		const stuck = await store.stuckClaims({ namespace, from: { at: T0, after: null }, until: T0 + 1000, limit: 100 });
		expect(stuck.events.map((r) => r.key).sort()).toEqual(keys.slice(40).sort());
		expect((await store.getException(oldException.id))?.key).toBe('old-50');
		expect((await store.listOpenExceptions({ namespace, limit: 10 })).map((e) => e.id)).toEqual([oldException.id]);
		const resolved = await store.resolveException({ id: oldException.id, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null }, actor, T0 + 301);
		expect(resolved.exceptions.map((e) => e.status)).toEqual(['resolved']);
		expect(await store.purge(namespace, T0 + 10_000)).toEqual({ records: 40, history: 40 * 3 });

		// a store that never saw the namespace decides the same from the marker
		const other = open();
		expect((await other.claim(namespace, [{ key: 'new-1', fingerprint: null }], policy, actor, T0 + 400))[0].reason).toBe('in_progress');
	});

	it('is read in its one slot before any write, also by a store that read it when it was empty', async () => {
		const namespace = `legacy-r-${randomUUID()}`;
		const store = open();
		expect(await store.get(namespace, 'old')).toBeNull(); // nothing yet: read as spread, not remembered
		const before = open(OneSlotStore);
		const [claimed] = await before.claim(namespace, [{ key: 'old', fingerprint: null }], policy, actor, T0);
		await before.transition(namespace, [processed('old', claimed.claimToken, { id: 'old' })], actor, T0 + 1);
		await before.close();
		expect(await store.get(namespace, 'old')).toMatchObject({ state: 'processed', result: { id: 'old' } });
		expect((await store.history(namespace, 'old')).map((h) => h.event)).toEqual(['claimed', 'processed']);
		expect((await open().list(namespace, { limit: 10 }, T0 + 2)).records.map((r) => r.key)).toEqual(['old']);
		expect((await open().stats(namespace, HOUR, T0 + 2)).processed).toBe(1);
		// the data decided: the marker says so, and a write goes to the one slot
		expect(await admin.get(new NamespaceKeys(prefix, namespace).layoutMarker)).toBe('single');
		expect((await store.claim(namespace, [{ key: 'old', fingerprint: null }, { key: 'new', fingerprint: null }], policy, actor, T0 + 3)).map((d) => d.outcome)).toEqual(['duplicate', 'new']);
		expect(await admin.exists(new NamespaceKeys(prefix, namespace).record('new'))).toBe(1);
	});

	it('keeps the layout of a namespace that only has exceptions, and spreads one that has nothing', async () => {
		const namespace = `legacy-x-${randomUUID()}`;
		const before = open(OneSlotStore);
		const [exception] = await before.recordExceptions(namespace, [{ key: 'x', reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'Ops' }], actor, T0);
		await before.close();
		const store = open();
		expect((await store.listOpenExceptions({ namespace, limit: 10 })).map((e) => e.id)).toEqual([exception.id]);
		expect((await store.recordExceptions(namespace, [{ key: 'x', reason: 'write_timeout', owner: 'ops', severity: 'high', route: 'Ops' }], actor, T0 + 1))[0]).toMatchObject({ id: exception.id, occurrences: 2 });
		expect(await admin.get(new NamespaceKeys(prefix, namespace).layoutMarker)).toBe('single');

		const fresh = `fresh-${randomUUID()}`;
		await store.claim(fresh, [{ key: 'a', fingerprint: null }], policy, actor, T0);
		expect(await admin.get(new NamespaceKeys(prefix, fresh).layoutMarker)).toBe(`buckets:${CLUSTER_BUCKETS}`);
		const bucket = spreadLayout(prefix, fresh).buckets[bucketOfKey('a', CLUSTER_BUCKETS)];
		expect(await admin.exists(bucket.record('a'))).toBe(1);
	});
});
