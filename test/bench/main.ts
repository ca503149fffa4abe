// `npm run bench` (through test/bench/run.js): the stores measured as ratios against the raw
// store beneath them, in the same run. Prints a table, rewrites the generated part of
// BENCHMARKS.md and docs/bench-chart.svg. Settings come from flags or BENCH_* variables (--help).

import { cpus, loadavg, totalmem } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { auditConsoleTable, auditMarkdown, runAuditBench, writeAuditMarkdown } from './auditBench';
import { runClusterBench } from './cluster';
import { runReplicaBench } from './replica';
import { runEmbedded } from './embedded';
import { runExceptionIndexBench } from './exceptionIndexes';
import { figure } from './measure';
import { runPostgres } from './postgres';
import { runRedis } from './redis';
import { CHART_PATH, chartSvg, consoleTable, markdownResults, writeChart, writeMarkdown } from './report';
import type { SuiteResult } from './results';
import { fmt } from './storeLevel';

const HELP = `npm run bench [-- options]

  --stores=postgres,redis,embedded   which stores (BENCH_STORES)
  --keys=100000         keys per store-level run (BENCH_KEYS)
  --embedded-keys=N     keys per run on PGlite (BENCH_EMBEDDED_KEYS, default 20000)
  --runs=5              runs per figure, at least 5 for a report (BENCH_RUNS)
  --singles=1000        one-key claims per side per run for latency (BENCH_SINGLES)
  --scale=10k,1m,10m    stored-key sizes for Postgres; "none" skips (BENCH_SCALE)
  --redis-scale=10k,1m  stored-key sizes for Redis (BENCH_REDIS_SCALE); 10m needs ~15 GB of RAM
  --scale-chunks=5      chunks of 1000 per run at each size (BENCH_SCALE_CHUNKS)
  --history-per-key=1   history events per preloaded Postgres key, 1 or 2 (BENCH_HISTORY_PER_KEY)
  --no-write            print only; leave BENCHMARKS.md and the chart alone
  --redis-cluster       only: one hot namespace on a 3-master cluster, one slot vs spread
                        (with --keys, default 20000, and --runs, default 3; prints only)
  --audit               only: the idempotency audit over ../shared/corpus/ (workflows per
                        second) and FlowLint side by side (with --runs, default 5); a full run
                        ends with it too. Writes its section of BENCHMARKS.md unless --no-write
  --redis-replica       only: claims/s on a Redis alone, with a replica (the store waits for it),
                        and with a replica but Wait for Replicas: None, same run (--keys, --runs; prints only)
  --exception-indexes   only: the exceptions table's reads (report, list open, open count, a
                        resolution's lock) without and with migration 010's indexes, and their
                        write cost (--exceptions=200k, --runs=21, --write-runs=6; prints only)
  POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test), REDIS_URL (redis://127.0.0.1:6379)`;

function setting(args: Map<string, string>, flag: string, env: string, fallback: string): string {
	return args.get(flag) ?? process.env[env] ?? fallback;
}

function count(text: string): number {
	const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
	if (!match) throw new Error(`Not a count: "${text}" (use e.g. 5000, 10k, 1m)`);
	const factor = { '': 1, k: 1e3, m: 1e6 }[match[2].toLowerCase() as '' | 'k' | 'm'];
	return Math.round(Number(match[1]) * factor);
}

function sizes(text: string): number[] {
	return text === 'none' || text === '' ? [] : text.split(',').map(count);
}

async function versions(postgresUrl: string, redisUrl: string): Promise<string> {
	const found: string[] = [`Node ${process.version}`];
	const pg = new Client({ connectionString: postgresUrl });
	try {
		await pg.connect();
		const [row] = (await pg.query(`SELECT current_setting('server_version') AS v, current_setting('shared_buffers') AS sb`)).rows;
		found.push(`Postgres ${row.v} (shared_buffers ${row.sb})`);
	} catch {
		found.push('Postgres unreachable');
	} finally {
		await pg.end().catch(() => undefined);
	}
	const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		const info = await redis.info('server');
		found.push(`Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? '?'} (no persistence)`);
	} catch {
		found.push('Redis unreachable');
	} finally {
		redis.disconnect();
	}
	return found.join(', ');
}

async function main(): Promise<void> {
	const args = new Map<string, string>();
	for (const arg of process.argv.slice(2)) {
		const [flag, ...rest] = arg.replace(/^--/, '').split('=');
		args.set(flag, rest.length ? rest.join('=') : 'true');
	}
	if (args.has('help')) {
		console.log(HELP);
		return;
	}
	if (args.has('redis-cluster')) {
		await runClusterBench(args);
		return;
	}
	if (args.has('redis-replica')) {
		await runReplicaBench(args);
		return;
	}
	if (args.has('exception-indexes')) {
		await runExceptionIndexBench(new Map([...args].map(([flag, value]) => [flag, flag === 'exceptions' ? String(count(value)) : value])));
		return;
	}
	const root = process.env.BENCH_ROOT ?? process.cwd();
	if (args.has('audit')) {
		await auditBench(root, count(setting(args, 'runs', 'BENCH_RUNS', '5')), !args.has('no-write'));
		return;
	}
	const started = Number(process.env.BENCH_STARTED ?? Date.now());
	const postgresUrl = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
	const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
	const stores = setting(args, 'stores', 'BENCH_STORES', 'postgres,redis,embedded').split(',');
	const keys = count(setting(args, 'keys', 'BENCH_KEYS', '100000'));
	const embeddedKeys = count(setting(args, 'embedded-keys', 'BENCH_EMBEDDED_KEYS', '20000'));
	const runs = count(setting(args, 'runs', 'BENCH_RUNS', '5'));
	const singles = count(setting(args, 'singles', 'BENCH_SINGLES', '1000'));
	const postgresSizes = sizes(setting(args, 'scale', 'BENCH_SCALE', '10k,1m,10m'));
	const redisSizes = sizes(setting(args, 'redis-scale', 'BENCH_REDIS_SCALE', '10k,1m'));
	const scaleChunks = count(setting(args, 'scale-chunks', 'BENCH_SCALE_CHUNKS', '5'));
	const historyPerKey = count(setting(args, 'history-per-key', 'BENCH_HISTORY_PER_KEY', '1')) === 2 ? 2 : 1;
	const write = !args.has('no-write');
	const chunk = 1000;

	const log = (line: string) => console.log(line);
	const cleanups: Array<() => Promise<void>> = [];
	const onCleanup = (cleanup: () => Promise<void>) => cleanups.push(cleanup);
	let interrupted = false;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.once(signal, () => {
			interrupted = true;
			console.log(`\n${signal}: cleaning up…`);
			void Promise.allSettled(cleanups.map((cleanup) => cleanup())).then(() => process.exit(130));
		});
	}

	const loads: number[] = [];
	const sampleLoad = () => loads.push(loadavg()[0]);
	sampleLoad();
	const sampler = setInterval(sampleLoad, 10_000);
	sampler.unref();

	const config =
		`stores ${stores.join(', ')}; ${fmt(keys)} keys per run (PGlite ${fmt(embeddedKeys)}), ${runs} runs, chunks of ${chunk}, ` +
		`${singles} single claims per side per run; scale: Postgres ${postgresSizes.map(fmt).join(' → ') || 'skipped'} ` +
		`(${historyPerKey} history event${historyPerKey === 2 ? 's' : ''} per preloaded key), Redis ${redisSizes.map(fmt).join(' → ') || 'skipped'}, ` +
		`${scaleChunks} chunks per run per size`;
	console.log(`Bench: ${config}.\nLoad average now: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
	if (runs < 5) console.log('Fewer than 5 runs: fine for trying things, not for a report.');

	const results: SuiteResult[] = [];
	try {
		if (stores.includes('postgres')) {
			results.push(
				...(await runPostgres({ url: postgresUrl, keys, runs, chunk, singles, sizes: postgresSizes, scaleChunks, historyPerKey, log, onCleanup })),
			);
		}
		if (stores.includes('redis')) {
			results.push(...(await runRedis({ url: redisUrl, keys, runs, chunk, singles, sizes: redisSizes, scaleChunks, log, onCleanup })));
		}
		if (stores.includes('embedded')) {
			results.push(...(await runEmbedded({ keys: embeddedKeys, runs, chunk, singles: Math.min(singles, 500), log, onCleanup })));
		}
	} finally {
		clearInterval(sampler);
		await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
	}
	if (interrupted) return;
	sampleLoad();

	console.log(`\n${consoleTable(results)}\n`);
	const wallSeconds = (Date.now() - started) / 1000;
	const load = figure(loads);
	console.log(
		`Wall time ${(wallSeconds / 60).toFixed(1)} min; load average (1 min) median ${load.median.toFixed(2)}, max ${load.max.toFixed(2)}.`,
	);
	if (!write) return;
	writeChart(join(root, CHART_PATH), chartSvg(results));
	const cpu = cpus();
	writeMarkdown(
		join(root, 'BENCHMARKS.md'),
		markdownResults(
			results,
			{
				date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
				wallSeconds,
				machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB RAM`,
				versions: await versions(postgresUrl, redisUrl),
				load: { min: load.min, median: load.median, max: load.max, samples: loads.length },
				config,
				command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
			},
		),
	);
	console.log(`Wrote BENCHMARKS.md and ${CHART_PATH}.`);
	await auditBench(root, runs, write);
}

async function auditBench(root: string, runs: number, write: boolean): Promise<void> {
	const loadBefore = loadavg()[0];
	const results = await runAuditBench({ root, runs, log: (line) => console.log(line) });
	if (!results.length) return;
	console.log(`\n${auditConsoleTable(results)}\n`);
	if (!write) return;
	const cpu = cpus();
	writeAuditMarkdown(
		join(root, 'BENCHMARKS.md'),
		auditMarkdown(results, {
			date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
			machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}`,
			node: `Node ${process.version}`,
			runs,
			load: `${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after`,
			command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
		}),
	);
	console.log('Wrote the audit section of BENCHMARKS.md.');
}

main().catch((error) => {
	console.error(error instanceof Error ? (error.stack ?? error.message) : error);
	process.exitCode = 1;
});
