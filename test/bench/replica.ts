// `npm run bench -- --redis-replica`: what "acknowledged means replicated" costs. Two private
// redis-servers of the same settings started here — one alone, one with a replica attached —
// and one store on each with the credential's defaults (Wait for Replicas: Automatic, so the
// store on the primary with a replica WAITs for it after every write, the other does not),
// plus a third store on the primary with a replica and Wait for Replicas: None (replication
// without the wait). Each run measures the three side by side, the order rotating: fresh claims
// and markProcessed in chunks of 1000, with 1 and 4 chunks in flight, and single-key claims in
// a row (p50). Prints a table; writes nothing.

import { randomUUID } from 'crypto';
import { loadavg } from 'os';
import { RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import type { Actor, ClaimPolicy } from '../../nodes/shared/store/types';
import { startRedis, type PrivateRedis } from '../helpers/redisServer';
import { figure, nowMs, type Figure } from './measure';

const actor: Actor = { workflowId: 'bench', executionId: 'bench', node: 'Guard' };
const policy: ClaimPolicy = { leaseMs: 300_000, retentionMs: 86_400_000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
const CHUNK = 1000;
const SINGLES = 500;

type Side = 'no replica (defaults)' | 'replica, WAIT 1 (defaults)' | 'replica, Wait for Replicas: None';
const SIDES: Side[] = ['no replica (defaults)', 'replica, WAIT 1 (defaults)', 'replica, Wait for Replicas: None'];

interface Sample {
	fresh: number;
	processed: number;
	singleP50Ms: number;
}

async function measure(store: RedisStore, keys: number, parallel: number): Promise<Sample> {
	const ns = `bench-${randomUUID().slice(0, 8)}`;
	const names = Array.from({ length: keys }, (_, i) => `k-${i}`);
	const parts: string[][] = [];
	for (let i = 0; i < names.length; i += CHUNK) parts.push(names.slice(i, i + CHUNK));
	const tokens = new Map<string, string>();
	const inFlight = async (work: (part: string[]) => Promise<void>) => {
		let next = 0;
		await Promise.all(
			Array.from({ length: parallel }, async () => {
				while (next < parts.length) await work(parts[next++]);
			}),
		);
	};
	let start = nowMs();
	await inFlight(async (part) => {
		for (const d of await store.claim(ns, part.map((key) => ({ key, fingerprint: null })), policy, actor)) {
			if (d.outcome !== 'new') throw new Error(`bench: ${d.key} was ${d.outcome} (${d.reason})`);
			tokens.set(d.key, d.claimToken!);
		}
	});
	const fresh = (keys / (nowMs() - start)) * 1000;
	start = nowMs();
	await inFlight(async (part) => {
		await store.transition(ns, part.map((key) => ({ key, kind: 'markProcessed' as const, claimToken: tokens.get(key)!, verifyClaim: true, force: false, retentionMs: 0 })), actor);
	});
	const processed = (keys / (nowMs() - start)) * 1000;
	const singles: number[] = [];
	for (let i = 0; i < SINGLES; i++) {
		const at = nowMs();
		await store.claim(ns, [{ key: `single-${i}`, fingerprint: null }], policy, actor);
		singles.push(nowMs() - at);
	}
	singles.sort((a, b) => a - b);
	return { fresh, processed, singleP50Ms: singles[Math.floor(singles.length / 2)] };
}

export async function runReplicaBench(args: Map<string, string>): Promise<void> {
	const keys = Number(args.get('keys') ?? 20_000);
	const runs = Number(args.get('runs') ?? 3);
	const servers: PrivateRedis[] = [];
	const stores: RedisStore[] = [];
	try {
		const alone = await startRedis();
		const primary = await startRedis(['--repl-diskless-sync-delay', '0']);
		servers.push(alone, primary);
		const replica = await startRedis(['--replicaof', primary.host, String(primary.port)]);
		servers.push(replica);
		for (let i = 0; !/connected_slaves:1/.test(await primary.admin.info('replication')); i++) {
			if (i > 200) throw new Error('bench: the replica did not connect');
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		const open = (server: PrivateRedis, extra: Partial<ConstructorParameters<typeof RedisStore>[1]> = {}) => {
			// Private servers that keep nothing on disk, as this machine's: accepted for the bench.
			const store = new RedisStore({ host: server.host, port: server.port, database: 0, tls: false, keyPrefix: 'bench:', mode: 'standalone', allowNoPersistence: true, ...extra });
			stores.push(store);
			return store;
		};
		const bySide: Record<Side, RedisStore> = {
			'no replica (defaults)': open(alone),
			'replica, WAIT 1 (defaults)': open(primary),
			'replica, Wait for Replicas: None': new RedisStore({ host: primary.host, port: primary.port, database: 0, tls: false, keyPrefix: 'bench:', mode: 'standalone', allowNoPersistence: true, waitForReplicas: 'none' }),
		};
		stores.push(bySide['replica, Wait for Replicas: None']);
		const waits = await Promise.all(SIDES.map(async (side) => `${side}: waits for ${(await bySide[side].durability()).waitFor}`));
		console.log(`Redis with and without a replica (private servers, loopback), ${keys} keys per run, ${runs} runs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${waits.join('; ')}`);
		const rows: string[] = [];
		const show = (f: Figure) => `${Math.round(f.median)} (${Math.round(f.min)}–${Math.round(f.max)})`;
		for (const parallel of [1, 4]) {
			const samples: Record<Side, Sample[]> = { 'no replica (defaults)': [], 'replica, WAIT 1 (defaults)': [], 'replica, Wait for Replicas: None': [] };
			for (let run = 0; run < runs; run++) {
				const order = SIDES.map((_, i) => SIDES[(i + run) % SIDES.length]);
				for (const side of order) samples[side].push(await measure(bySide[side], keys, parallel));
			}
			const base = samples['no replica (defaults)'];
			for (const metric of ['fresh', 'processed'] as const) {
				rows.push(
					`| ${metric === 'fresh' ? 'fresh claims/s' : 'markProcessed/s'} | ${parallel} | ${SIDES.map((side) => `${show(figure(samples[side].map((s) => s[metric])))} (${(figure(samples[side].map((s, i) => s[metric] / base[i][metric])).median).toFixed(2)}×)`).join(' | ')} |`,
				);
			}
			if (parallel === 1) {
				rows.push(`| single-key claim p50, ms | 1 | ${SIDES.map((side) => { const f = figure(samples[side].map((s) => s.singleP50Ms)); return `${f.median.toFixed(3)} (${f.min.toFixed(3)}–${f.max.toFixed(3)})`; }).join(' | ')} |`);
			}
		}
		console.log(`| figure | chunks in flight | ${SIDES.join(' | ')} |`);
		console.log(`|---|---|${SIDES.map(() => '---').join('|')}|`);
		for (const row of rows) console.log(row);
	} finally {
		await Promise.allSettled(stores.map((store) => store.close()));
		for (const server of servers.reverse()) await server.stop();
	}
}
