// `npm run bench -- --redis-cluster`: one hot namespace on a 3-master Redis Cluster (started
// here, or REDIS_CLUSTER_NODES), in the one-slot layout (the namespace's layout marker set to
// `single` before its first claim, as a namespace from before buckets has) against the spread
// layout (buckets.ts), side by side in each run, the order alternating. Measures fresh claims,
// duplicate claims and markProcessed in chunks of 1000 with 1 and 4 chunks in flight, and the
// fan-out cost of stats and a 100-record list page. Prints a table; writes nothing.

import { loadavg } from 'os';
import { Cluster } from 'ioredis';
import { NamespaceKeys } from '../../nodes/shared/store/redis/keys';
import { RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import type { Actor, ClaimPolicy } from '../../nodes/shared/store/types';
import { startLocalCluster, type LocalCluster } from '../helpers/redisCluster';
import { figure, nowMs, type Figure } from './measure';

const actor: Actor = { workflowId: 'bench', executionId: 'bench', node: 'Guard' };
const policy: ClaimPolicy = { leaseMs: 300_000, retentionMs: 86_400_000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
const CHUNK = 1000;
type Layout = 'one slot' | 'spread';

interface Sample {
	fresh: number;
	duplicate: number;
	processed: number;
	statsMs: number;
	listMs: number;
	/** Server CPU of the busiest master over the three write phases, ms per 1000 keys. */
	busiestCpuMs: number;
	/** Its share of the CPU all masters spent on them. */
	busiestShare: number;
}

/** used_cpu_user + used_cpu_sys of each master, in ms. */
async function masterCpu(admin: Cluster): Promise<number[]> {
	return Promise.all(
		admin.nodes('master').map(async (node) => {
			const info = await node.info('cpu');
			const value = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
			return (value('used_cpu_user') + value('used_cpu_sys')) * 1000;
		}),
	);
}

async function inFlight<T>(items: T[][], parallel: number, work: (chunk: T[]) => Promise<unknown>): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: parallel }, async () => {
			while (next < items.length) await work(items[next++]);
		}),
	);
}

async function measure(store: RedisStore, admin: Cluster, prefix: string, layout: Layout, keys: number, parallel: number, run: number): Promise<Sample> {
	const namespace = `bench-${layout === 'spread' ? 'spread' : 'single'}-${parallel}-${run}-${Date.now()}`;
	if (layout === 'one slot') await admin.set(new NamespaceKeys(prefix, namespace).layoutMarker, 'single');
	const names = Array.from({ length: keys }, (_, i) => `order-${run}-${i}`);
	const chunks: string[][] = [];
	for (let i = 0; i < names.length; i += CHUNK) chunks.push(names.slice(i, i + CHUNK));
	const tokens = new Map<string, string>();
	const cpuBefore = await masterCpu(admin);
	let start = nowMs();
	await inFlight(chunks, parallel, async (chunk) => {
		for (const d of await store.claim(namespace, chunk.map((key) => ({ key, fingerprint: null })), policy, actor)) tokens.set(d.key, d.claimToken as string);
	});
	const fresh = keys / ((nowMs() - start) / 1000);
	start = nowMs();
	await inFlight(chunks, parallel, (chunk) =>
		store.transition(namespace, chunk.map((key) => ({ kind: 'markProcessed' as const, key, claimToken: tokens.get(key) as string, verifyClaim: true, force: false, resultJson: '{"id":1}', retentionMs: 0 })), actor),
	);
	const processed = keys / ((nowMs() - start) / 1000);
	start = nowMs();
	await inFlight(chunks, parallel, (chunk) => store.claim(namespace, chunk.map((key) => ({ key, fingerprint: null })), policy, actor));
	const duplicate = keys / ((nowMs() - start) / 1000);
	const cpu = (await masterCpu(admin)).map((ms, i) => ms - cpuBefore[i]);
	const busiest = Math.max(...cpu);
	const busiestCpuMs = busiest / (keys / 1000);
	const busiestShare = busiest / cpu.reduce((a, b) => a + b, 0);
	start = nowMs();
	for (let i = 0; i < 20; i++) await store.stats(namespace, 86_400_000);
	const statsMs = (nowMs() - start) / 20;
	start = nowMs();
	let cursor: string | null = null;
	for (let i = 0; i < 20; i++) cursor = (await store.list(namespace, { limit: 100, cursor, state: 'processed' })).nextCursor;
	const listMs = (nowMs() - start) / 20;
	return { fresh, duplicate, processed, statsMs, listMs, busiestCpuMs, busiestShare };
}

export async function runClusterBench(args: Map<string, string>): Promise<void> {
	const keys = Number(args.get('keys') ?? 20_000);
	const runs = Number(args.get('runs') ?? 3);
	let local: LocalCluster | null = null;
	const nodes = process.env.REDIS_CLUSTER_NODES || (local = await startLocalCluster()).nodes;
	const prefix = `bench:cluster:${Date.now()}:`;
	const [first] = nodes.split(',');
	const store = new RedisStore({ host: first.split(':')[0], port: Number(first.split(':')[1]), database: 0, tls: false, keyPrefix: prefix, mode: 'cluster', clusterNodes: nodes, allowNoPersistence: true });
	const admin = new Cluster(nodes.split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) })));
	try {
		console.log(`Redis Cluster (${nodes.split(',').length} masters${local ? ', local' : ''}), one namespace, ${keys} keys per run, ${runs} runs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
		const rows: string[] = [];
		for (const parallel of [1, 4]) {
			const samples: Record<Layout, Sample[]> = { 'one slot': [], spread: [] };
			for (let run = 0; run < runs; run++) {
				const order: Layout[] = run % 2 === 0 ? ['one slot', 'spread'] : ['spread', 'one slot'];
				for (const layout of order) samples[layout].push(await measure(store, admin, prefix, layout, keys, parallel, run));
			}
			const show = (f: Figure, unit = '') => `${Math.round(f.median)}${unit} (${Math.round(f.min)}–${Math.round(f.max)})`;
			const showMs = (f: Figure) => `${f.median.toFixed(1)} ms (${f.min.toFixed(1)}–${f.max.toFixed(1)})`;
			for (const metric of ['fresh', 'duplicate', 'processed'] as const) {
				const one = figure(samples['one slot'].map((s) => s[metric]));
				const spread = figure(samples.spread.map((s) => s[metric]));
				const ratio = figure(samples.spread.map((s, i) => s[metric] / samples['one slot'][i][metric]));
				rows.push(`| ${metric} keys/s | ${parallel} | ${show(one)} | ${show(spread)} | ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}) |`);
			}
			{
				const one = figure(samples['one slot'].map((s) => s.busiestCpuMs));
				const spread = figure(samples.spread.map((s) => s.busiestCpuMs));
				const share = (list: Sample[]) => `${Math.round(figure(list.map((s) => s.busiestShare)).median * 100)} %`;
				rows.push(`| busiest master's CPU per 1000 keys (claim + markProcessed + duplicate) | ${parallel} | ${showMs(one)}, ${share(samples['one slot'])} of all | ${showMs(spread)}, ${share(samples.spread)} of all | ${(one.median / spread.median).toFixed(2)}× ceiling |`);
			}
			for (const metric of ['statsMs', 'listMs'] as const) {
				const one = figure(samples['one slot'].map((s) => s[metric]));
				const spread = figure(samples.spread.map((s) => s[metric]));
				rows.push(`| ${metric === 'statsMs' ? 'stats call' : 'list page of 100'} | ${parallel} | ${showMs(one)} | ${showMs(spread)} | ${(spread.median / one.median).toFixed(2)}× time |`);
			}
		}
		console.log('| figure | chunks in flight | one slot | spread (24 buckets) | spread / one slot |');
		console.log('|---|---|---|---|---|');
		for (const row of rows) console.log(row);
	} finally {
		await store.close();
		admin.disconnect();
		await local?.stop();
	}
}
