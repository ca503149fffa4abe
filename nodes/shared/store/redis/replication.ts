// Acknowledged means replicated: a writing script, then WAIT for the replicas the credential
// requires, before the store answers. Redis replicates asynchronously; a failover to a replica
// that had not received a write loses it, and a processed key lost so is New again.
//
// WAIT counts only the writes of the connection that sends it, and blocks that connection until
// the replicas confirm or the timeout passes. So a write that waits runs on a lane of its own —
// a dedicated connection (on a Cluster, a dedicated cluster client) that no other call shares
// while the write and its WAIT run: a slow replica stalls that lane only, never the connection
// every other execution's reads and writes use. The WAIT goes to the node that owns the keys:
// it is pipelined behind an EXISTS of a key of the script's slot, which routes it there on a
// Cluster. Lanes are made when first needed, at most LANES per store; a write waits for a free one.
//
// A WAIT counts for the write only on the connection that carried it. Were the lane to reconnect
// between the script's reply and the WAIT (ioredis reconnects and sends queued or unanswered
// commands on the new connection), the WAIT would reach whatever server the address now names —
// after a failover, a promoted replica that never had the write, whose own replicas confirm at
// once. So a lane counts its connection closes, and a write during which one closed is never
// confirmed: a claim goes Ambiguous `not_replicated`, a settlement reports it was not confirmed.

import type { Cluster, Redis } from 'ioredis';
import { StoreUnavailableError } from '../errors';
import { defineScripts, type ScriptName, type ScriptRunner } from './scripts';

/** Dedicated connections for writes that wait for replicas, per store. */
export const LANES = 8;

export type Scripts = Record<ScriptName, ScriptRunner>;

interface Lane {
	client: Redis | Cluster;
	scripts: Scripts;
	/** How many times a connection of this lane has closed: a write that saw it change is unconfirmed. */
	closes: number;
}

export interface Replicated<T> {
	reply: T;
	/** The replicas confirmed the write in time. */
	confirmed: boolean;
	/** How many were waited for, and how many confirmed. */
	required: number;
	acked: number;
}

export class ReplicaWait {
	private readonly idle: Lane[] = [];
	private readonly all: Lane[] = [];
	private readonly queue: Array<(lane: Lane) => void> = [];

	constructor(
		private readonly client: Redis | Cluster,
		readonly timeoutMs: number,
	) {}

	/**
	 * Runs `send` on a lane, then WAITs there for `required` replicas; `retries` more WAITs when
	 * they fall short (a settlement is on the primary already: waiting again costs nothing more).
	 */
	async write<T>(required: number, slotKey: string, send: (scripts: Scripts) => Promise<T>, retries = 0): Promise<Replicated<T>> {
		const lane = await this.take();
		try {
			// Connected first: what closes while a lane connects (a cluster client drops its seed
			// nodes once it knows the topology) is not a write's business.
			if (lane.client.status !== 'ready') await lane.client.ping();
			const closes = lane.closes;
			const reply = await send(lane.scripts);
			let acked = await this.wait(lane, slotKey, required);
			for (let i = 0; i < retries && acked < required && lane.closes === closes; i++) acked = await this.wait(lane, slotKey, required);
			// The connection that carried the write closed before its WAIT was answered: that WAIT
			// may have counted another server's replicas (see the header).
			if (lane.closes !== closes) acked = 0;
			return { reply, confirmed: acked >= required, required, acked };
		} finally {
			this.give(lane);
		}
	}

	/** How many replicas confirmed every write of this lane so far; 0 when WAIT itself failed. */
	private async wait(lane: Lane, slotKey: string, required: number): Promise<number> {
		try {
			const replies = await lane.client.pipeline().exists(slotKey).wait(required, this.timeoutMs).exec();
			const [error, acked] = replies?.[1] ?? [new Error('no reply'), 0];
			return error ? 0 : Number(acked);
		} catch {
			return 0;
		}
	}

	private take(): Promise<Lane> {
		const lane = this.idle.pop();
		// A cluster client gives up for good after its retries (connection.ts): that lane is made again.
		if (lane && lane.client.status === 'end') {
			this.all.splice(this.all.indexOf(lane), 1);
			lane.client.disconnect();
			return Promise.resolve(this.make());
		}
		if (lane) return Promise.resolve(lane);
		if (this.all.length < LANES) return Promise.resolve(this.make());
		return new Promise((resolve) => this.queue.push(resolve));
	}

	private make(): Lane {
		const client = this.client.duplicate() as Redis | Cluster;
		// An 'error' event without a listener would crash the n8n process; the call fails instead.
		client.on('error', () => undefined);
		const made: Lane = { client, scripts: defineScripts(client), closes: 0 };
		const closed = () => {
			made.closes++;
		};
		if ((client as Cluster).isCluster) {
			// A cluster client's own 'close' comes only when it ends; each node's connection is watched.
			client.on('+node', (node: Redis) => node.on('close', closed));
			client.on('-node', closed);
		} else {
			client.on('close', closed);
		}
		this.all.push(made);
		return made;
	}

	private give(lane: Lane): void {
		const next = this.queue.shift();
		if (next) next(lane);
		else this.idle.push(lane);
	}

	close(): void {
		for (const lane of this.all.splice(0)) lane.client.disconnect();
		this.idle.length = 0;
	}
}

/** A settlement (transition, restore, exception…) the replicas did not confirm in time. */
export function notReplicatedError(target: string, doing: string, result: Replicated<unknown>, timeoutMs: number): StoreUnavailableError {
	const hint =
		'The change is on the primary; it is safe once the replicas have it. Check the replicas (INFO replication on the primary: connected? how far behind?). ' +
		'If they are known to be slow, raise "Replica Timeout" (or lower "Wait for Replicas") in the Idempotency Store (Redis) credential.';
	return new StoreUnavailableError(
		`${target} applied ${doing}, but only ${result.acked} of ${result.required} replica(s) confirmed it within ${timeoutMs} ms, twice: a failover now could lose it (not_replicated).`,
		{ kind: 'not_replicated', hint },
	);
}
