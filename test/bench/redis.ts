// The Redis bench: the store (RedisStore and its Lua scripts, under a key prefix of its own)
// against the raw ceiling on the same server through the same client library — a pipeline of
// one-key scripts doing SET NX PX. Redis is shared: only keys under the bench's prefix are
// touched, never FLUSHDB.

import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { Redis } from 'ioredis';
import { NamespaceKeys } from '../../nodes/shared/store/redis/keys';
import { RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import { nowMs } from './measure';
import type { Footprint, FootprintPart, SuiteResult } from './results';
import { runScale } from './scale';
import { fmt, runStoreLevel } from './storeLevel';
import { GUARD_POLICY, GuardContender, expectAll, resultFor, sha1Key, type Contender } from './workload';

export interface RedisBenchOptions {
	url: string;
	keys: number;
	runs: number;
	chunk: number;
	singles: number;
	sizes: number[];
	scaleChunks: number;
	log: (line: string) => void;
	onCleanup: (cleanup: () => Promise<void>) => void;
}

/** The raw claim: one key, one SET NX PX, as a script (so it costs what any EVAL costs). */
const RAW_CLAIM_LUA = `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`;
const GRACE_MS = 86_400_000; // record.lua: Redis frees a settled record this long after retention

type BenchClient = Redis & {
	benchSetNx(key: string, token: string, leaseMs: number): Promise<'OK' | null>;
	benchPreload(...args: Array<string | number>): Promise<number>;
};

const RAW_LABELS = {
	claim: 'pipeline of 1000 one-key EVALSHA: SET key token NX PX lease',
	reclaim: 'the same pipeline on keys already set (every SET refused)',
	markProcessed: 'pipeline of 1000 HSET key state processed result … updatedAt …',
	single: 'one EVALSHA: SET key token NX PX lease',
};

class RawRedisContender implements Contender {
	constructor(
		private readonly client: BenchClient,
		private readonly prefix: string,
	) {}

	private async setNx(keys: string[]): Promise<number> {
		const pipeline = this.client.pipeline() as unknown as BenchClient & { exec(): Promise<Array<[Error | null, unknown]> | null> };
		for (const key of keys) pipeline.benchSetNx(`${this.prefix}raw:${key}`, randomUUID(), GUARD_POLICY.leaseMs);
		const replies = (await pipeline.exec()) ?? [];
		for (const [error] of replies) if (error) throw error;
		return replies.filter(([, reply]) => reply === 'OK').length;
	}

	async claim(keys: string[]): Promise<null> {
		expectAll('a raw SET NX', await this.setNx(keys), keys.length);
		return null;
	}

	async reclaim(keys: string[]): Promise<void> {
		expectAll('a refused raw SET NX', keys.length - (await this.setNx(keys)), keys.length);
	}

	async markProcessed(keys: string[]): Promise<void> {
		const pipeline = this.client.pipeline();
		const now = Date.now();
		for (const key of keys) pipeline.hset(`${this.prefix}rawh:${key}`, 'state', 'processed', 'result', resultFor(key), 'updatedAt', now);
		const replies = (await pipeline.exec()) ?? [];
		for (const [error] of replies) if (error) throw error;
		expectAll('a raw HSET', replies.length, keys.length);
	}

	async claimOne(key: string): Promise<void> {
		const reply = await this.client.benchSetNx(`${this.prefix}raw:${key}`, randomUUID(), GUARD_POLICY.leaseMs);
		expectAll('a raw SET NX', reply === 'OK' ? 1 : 0, 1);
	}
}

export async function runRedis(options: RedisBenchOptions): Promise<SuiteResult[]> {
	const id = randomBytes(4).toString('hex');
	const prefix = `bench:${id}:`;
	const url = new URL(options.url);
	const store = new RedisStore(
		{
			host: url.hostname,
			port: Number(url.port || 6379),
			username: decodeURIComponent(url.username) || undefined,
			password: decodeURIComponent(url.password) || undefined,
			database: Number(url.pathname.replace('/', '') || 0),
			tls: url.protocol === 'rediss:',
			keyPrefix: prefix,
			mode: 'standalone',
			// The bench Redis may keep nothing on disk (this machine's does not).
			allowNoPersistence: true,
		},
	);
	const client = new Redis(options.url, { disconnectTimeout: 200 }) as BenchClient;
	client.defineCommand('benchSetNx', { numberOfKeys: 1, lua: RAW_CLAIM_LUA });
	client.defineCommand('benchPreload', { numberOfKeys: 3, lua: readFileSync(join(__dirname, 'redis-preload.lua'), 'utf8') });

	let cleaned = false;
	const cleanup = async () => {
		if (cleaned) return;
		cleaned = true;
		const removed = await deleteUnder(client, prefix).catch((error) => {
			options.log(`    could not delete ${prefix}*: ${error.message}`);
			return 0;
		});
		if (removed > 0) options.log(`    deleted ${fmt(removed)} Redis keys under ${prefix}`);
		await Promise.allSettled([store.close(), client.quit()]);
	};
	options.onCleanup(cleanup);

	try {
		const health = await store.health();
		if (!health.ok) throw new Error(`Redis store not ready: ${health.message}`);
		const results: SuiteResult[] = [];
		const namespace = 'bench';
		const keys = new NamespaceKeys(prefix, namespace);

		options.log(`  Redis, store level (prefix ${prefix}):`);
		results.push(
			await runStoreLevel(
				{
					store: 'Redis',
					guard: new GuardContender(store, namespace),
					raw: new RawRedisContender(client, prefix),
					rawLabels: RAW_LABELS,
					reset: async () => void (await deleteUnder(client, prefix)),
					footprint: (sample) =>
						redisFootprint(client, keys, sample, `after one store-level run (${fmt(options.keys)} keys claimed, processed, re-claimed)`, null),
				},
				options,
			),
		);

		if (options.sizes.length > 0) {
			options.log(`  Redis, scale (${options.sizes.map(fmt).join(' → ')} stored keys):`);
			await deleteUnder(client, prefix);
			const scaleNamespace = 'scale';
			const scaleKeys = new NamespaceKeys(prefix, scaleNamespace);
			const seed = `bench-${id}`;
			const base = scaleKeys.record('x').slice(0, -'r:x'.length);
			let memoryPerKey: number | null = null;
			results.push(
				await runScale(
					{
						store: 'Redis',
						guard: new GuardContender(store, scaleNamespace),
						preloadedKey: (i) => sha1Key(seed, i),
						preload: async (from, to) => {
							const start = nowMs();
							const before = await usedMemory(client);
							const now = Date.now();
							// 2000 keys per script call: each call holds Redis for tens of milliseconds at most.
							for (let at = from; at < to; at += 2000) {
								const count = Math.min(2000, to - at);
								await client.benchPreload(
									scaleKeys.keysIndex,
									scaleKeys.stateIndex('processed'),
									scaleKeys.expiryIndex,
									base,
									seed,
									at,
									count,
									// key i is claimed at now - (to - i) ms: older keys first
									now - (to - at - count),
									GUARD_POLICY.retentionMs,
									GRACE_MS,
								);
							}
							memoryPerKey = (await usedMemory(client)) - before;
							memoryPerKey /= to - from;
							return `preloaded ${fmt(from)} → ${fmt(to)} processed keys (2 history events each) in ${((nowMs() - start) / 1000).toFixed(0)} s`;
						},
						footprint: (stored, sample) => redisFootprint(client, scaleKeys, sample, `${fmt(stored)} preloaded`, memoryPerKey),
					},
					{ sizes: options.sizes, runs: options.runs, chunksPerRun: options.scaleChunks, chunk: options.chunk, log: options.log },
				),
			);
		}
		return results;
	} finally {
		await cleanup();
	}
}

async function usedMemory(client: Redis): Promise<number> {
	const info = await client.info('memory');
	return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

async function memoryUsage(client: Redis, key: string, samples = 0): Promise<number> {
	return Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', String(samples))) ?? 0);
}

/**
 * Bytes per key as Redis counts them: MEMORY USAGE of sampled record hashes and history lists
 * (exact), the namespace's index sorted sets ÷ their members (estimated from 1000 members), and
 * — after a preload — the INFO used_memory delta ÷ keys loaded, which also counts what MEMORY
 * USAGE does not (the expiry table of the TTLs).
 */
async function redisFootprint(
	client: Redis,
	keys: NamespaceKeys,
	sampleKeys: string[],
	when: string,
	infoDeltaPerKey: number | null,
): Promise<Footprint> {
	let recordBytes = 0;
	let historyBytes = 0;
	let historyEvents = 0;
	let sampled = 0;
	for (const key of sampleKeys) {
		const record = await memoryUsage(client, keys.record(key));
		if (!record) continue;
		recordBytes += record;
		historyBytes += await memoryUsage(client, keys.history(key));
		historyEvents += await client.llen(keys.history(key));
		sampled++;
	}
	const records = await client.zcard(keys.keysIndex);
	const indexes: Array<[string, string]> = [
		['key index', keys.keysIndex],
		['state indexes', keys.stateIndex('processed')],
		['state indexes', keys.stateIndex('processing')],
		['expiry index', keys.expiryIndex],
		['lease index', keys.leaseIndex],
	];
	let indexBytes = 0;
	const indexParts = new Map<string, number>();
	for (const [label, key] of indexes) {
		const bytes = (await memoryUsage(client, key, 1000)) / Math.max(1, records);
		indexBytes += bytes;
		indexParts.set(label, (indexParts.get(label) ?? 0) + bytes);
	}
	const perRecord = sampled ? recordBytes / sampled : 0;
	const parts: FootprintPart[] = [
		{ label: 'record hash', bytes: perRecord, how: `MEMORY USAGE of ${sampled} sampled record hashes` },
		...[...indexParts].map(([label, bytes]) => ({ label, bytes, how: 'MEMORY USAGE (1000 samples) of the sorted sets ÷ records' })),
		{ label: 'history list', bytes: sampled ? historyBytes / sampled : 0, how: `MEMORY USAGE of ${sampled} sampled history lists` },
		{
			label: `history per event (${sampled ? (historyEvents / sampled).toFixed(1) : 0} events per key)`,
			bytes: historyEvents ? historyBytes / historyEvents : 0,
			how: `MEMORY USAGE of ${sampled} sampled history lists ÷ their entries (LLEN)`,
		},
	];
	if (infoDeltaPerKey !== null) {
		parts.push({ label: 'everything (INFO delta)', bytes: infoDeltaPerKey, how: 'INFO used_memory after − before the preload ÷ keys loaded' });
	}
	return {
		store: 'Redis',
		when,
		records,
		bytesPerRecord: perRecord + indexBytes,
		historyBytesPerRecord: sampled ? historyBytes / sampled : 0,
		historyBytesPerEvent: historyEvents ? historyBytes / historyEvents : 0,
		parts,
	};
}

/** Deletes every key under the prefix (SCAN + UNLINK, a few thousand at a time); returns how many. */
async function deleteUnder(client: Redis, prefix: string): Promise<number> {
	let cursor = '0';
	let removed = 0;
	const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
	do {
		const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
		cursor = next;
		if (found.length) removed += await client.unlink(...found);
	} while (cursor !== '0');
	return removed;
}
