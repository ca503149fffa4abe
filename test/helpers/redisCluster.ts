// A throw-away Redis Cluster for tests: three masters (no replicas, or one each) on free loopback ports, data
// and cluster config in a temp folder, created with `redis-cli --cluster create`. stop() kills
// the servers and removes the folder; a failed start cleans up the same way before it throws.

import { execFile, spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { Redis } from 'ioredis';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { stopProcess } from './redisServer';

const run = promisify(execFile);
const HOST = '127.0.0.1';
/** Redis Cluster talks between nodes on the client port + 10000. */
const BUS_OFFSET = 10_000;
const START_TIMEOUT_MS = 20_000;

export interface LocalCluster {
	/** Every server as `host:port`, comma-separated (the credential's clusterNodes format). */
	nodes: string;
	ports: number[];
	stop(): Promise<void>;
}

function portIsFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = createServer();
		server.once('error', () => resolve(false));
		server.listen(port, HOST, () => server.close(() => resolve(true)));
	});
}

/** Ports whose cluster bus port is free too, below the kernel's ephemeral range. */
async function freePorts(count: number): Promise<number[]> {
	const ports: number[] = [];
	for (let tries = 0; ports.length < count && tries < 200; tries++) {
		const port = 20_000 + Math.floor(Math.random() * 12_000);
		if (ports.includes(port)) continue;
		if ((await portIsFree(port)) && (await portIsFree(port + BUS_OFFSET))) ports.push(port);
	}
	if (ports.length < count) throw new Error('No free loopback ports for a local Redis Cluster');
	return ports;
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
	const deadline = Date.now() + START_TIMEOUT_MS;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			const value = await attempt();
			if (value !== undefined) return value;
		} catch (error) {
			last = error;
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`Local Redis Cluster: timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** One short-lived connection per question, so nothing is left open when the cluster stops. */
async function ask(port: number, ...command: string[]): Promise<string> {
	const client = new Redis({ host: HOST, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
	client.on('error', () => undefined);
	try {
		await client.connect();
		return String(await client.call(command[0], ...command.slice(1)));
	} finally {
		client.disconnect();
	}
}

/** `replicasPerMaster` 1: six servers, each master with a replica; `extraArgs` for every server. */
export async function startLocalCluster(options: { replicasPerMaster?: 0 | 1; extraArgs?: string[] } = {}): Promise<LocalCluster> {
	const replicas = options.replicasPerMaster ?? 0;
	const dir = mkdtempSync(join(tmpdir(), 'idem-redis-cluster-'));
	const children: ChildProcess[] = [];
	let stopped = false;
	// Should the test process end without stop(), the servers must not outlive it.
	const killAll = () => children.forEach((child) => child.kill('SIGKILL'));
	process.once('exit', killAll);
	const stop = async () => {
		if (stopped) return;
		stopped = true;
		process.off('exit', killAll);
		await Promise.all(children.map(stopProcess));
		rmSync(dir, { recursive: true, force: true });
	};
	try {
		const ports = await freePorts(3 * (1 + replicas));
		for (const port of ports) {
			const child = spawn(
				'redis-server',
				[
					'--port', String(port),
					'--bind', HOST,
					'--cluster-enabled', 'yes',
					'--cluster-config-file', join(dir, `nodes-${port}.conf`),
					'--cluster-node-timeout', '5000',
					'--save', '',
					'--appendonly', 'no',
					'--dir', dir,
					...(options.extraArgs ?? []),
				],
				{ stdio: 'ignore' },
			);
			child.on('error', () => undefined); // reported by the wait below (spawn failed)
			children.push(child);
		}
		for (const port of ports) await until(`redis-server on port ${port}`, async () => ((await ask(port, 'PING')) === 'PONG' ? true : undefined));
		await run(
			'redis-cli',
			['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
			{ timeout: START_TIMEOUT_MS },
		);
		for (const port of ports) {
			await until(`cluster_state:ok on port ${port}`, async () =>
				/cluster_state:ok/.test(await ask(port, 'CLUSTER', 'INFO')) ? true : undefined,
			);
		}
		return { nodes: ports.map((port) => `${HOST}:${port}`).join(','), ports, stop };
	} catch (error) {
		await stop();
		throw error;
	}
}
