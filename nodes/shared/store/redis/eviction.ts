// Whether this Redis may evict keys. Under any maxmemory-policy but noeviction, Redis drops keys
// when it reaches maxmemory; settled records carry a TTL, so volatile-* policies drop them first,
// and the next delivery of an event that was processed would be `new`: a second write. A store
// refuses to claim on such a Redis unless the credential's allowEviction accepts the risk.
//
// The policy is read with CONFIG GET, else from INFO memory (managed services such as
// ElastiCache rename or disable CONFIG but answer INFO). When neither answers, the policy is
// unknown and counts as evicting: refusing is the safe side.

import type { Cluster, Redis } from 'ioredis';
import { StoreMisconfiguredError } from '../errors';
import { refusalKind } from './errors';

export const SAFE_POLICY = 'noeviction';

/**
 * Redis refused this one command (renamed, not allowed to this user…). A connection problem or a
 * refusal of every call (BUSY, LOADING, NOAUTH…) is not an answer about eviction: it is thrown.
 */
export function isReplyError(error: unknown): boolean {
	const { name, message } = (error ?? {}) as { name?: string; message?: string };
	if (name !== 'ReplyError') return false;
	const kind = refusalKind(message ?? '');
	return kind === null || kind === 'NOPERM';
}

/** A node's maxmemory-policy, or null with the reason it could not be read. */
export async function readEvictionPolicy(node: Redis): Promise<{ policy: string | null; why?: string }> {
	let why = '';
	try {
		const reply = (await node.config('GET', 'maxmemory-policy')) as unknown as string[];
		if (reply?.[1]) return { policy: reply[1] };
		why = 'CONFIG GET maxmemory-policy answered nothing';
	} catch (error) {
		if (!isReplyError(error)) throw error;
		why = `CONFIG GET failed: ${(error as Error).message}`;
	}
	try {
		const info = await node.info('memory');
		const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
		if (policy) return { policy };
		why += '; INFO memory has no maxmemory_policy';
	} catch (error) {
		if (!isReplyError(error)) throw error;
		why += `; INFO memory failed: ${(error as Error).message}`;
	}
	return { policy: null, why };
}

/** The nodes that hold data: every master of a cluster (connected first), or the one server. */
export async function dataNodes(client: Redis | Cluster): Promise<Redis[]> {
	if (!(client as Cluster).isCluster) return [client as Redis];
	const cluster = client as Cluster;
	if (cluster.nodes('master').length === 0) await cluster.ping();
	const masters = cluster.nodes('master');
	if (masters.length === 0) throw new Error('the cluster named no master node');
	return masters;
}

export interface EvictionVerdict {
	/** Every node has noeviction. */
	safe: boolean;
	/** Why not, in words (which policy, or that it could not be read). */
	problem?: string;
}

export async function checkEviction(client: Redis | Cluster): Promise<EvictionVerdict> {
	const nodes = await dataNodes(client);
	const found = await Promise.all(nodes.map((node) => readEvictionPolicy(node)));
	const unsafe = found.filter((f) => f.policy !== SAFE_POLICY);
	if (unsafe.length === 0) return { safe: true };
	const policies = [...new Set(unsafe.map((f) => f.policy).filter((p): p is string => p !== null))];
	const unread = unsafe.find((f) => f.policy === null);
	const problem =
		policies.length > 0
			? `evicts keys (maxmemory-policy ${policies.join(', ')}): when it reaches maxmemory it drops records — settled ones first, they carry a TTL — and the next delivery of an event that was already processed would be new, a second write.`
			: `did not say whether it evicts keys (maxmemory-policy could not be read: ${unread?.why}); the store assumes it may, because an evicted record makes the next delivery of a processed event new, a second write.`;
	return { safe: false, problem };
}

export const EVICTION_FIX =
	'Set maxmemory-policy to noeviction on this Redis (CONFIG SET maxmemory-policy noeviction and in redis.conf, or the ' +
	'parameter group of ElastiCache / Memorystore), or turn on "Allow Eviction" in the Idempotency Store (Redis) ' +
	'credential to accept that risk.';

export function evictionError(target: string, verdict: EvictionVerdict): StoreMisconfiguredError {
	return new StoreMisconfiguredError(`${target} ${verdict.problem} Claims are refused.`, EVICTION_FIX);
}

/** How long a "this Redis does not evict" answer is trusted before claims read it again. */
const EVICTION_RECHECK_MS = 60_000;

/**
 * Claims are refused on a Redis that may evict keys, unless allowEviction accepts the risk. A safe
 * answer is trusted for a minute; an unsafe one is read again on the next claim, so that fixing the
 * policy takes effect at once. One reading at a time, shared by the calls that wait for it.
 */
export class EvictionGate {
	private safeSince = -Infinity;
	private reading: Promise<EvictionVerdict> | null = null;

	constructor(
		private readonly client: Redis | Cluster,
		private readonly target: string,
		readonly allowEviction: boolean,
	) {}

	read(): Promise<EvictionVerdict> {
		if (!this.reading) {
			this.reading = checkEviction(this.client).finally(() => {
				this.reading = null;
			});
		}
		return this.reading;
	}

	async ensureSafe(): Promise<void> {
		if (this.allowEviction || Date.now() - this.safeSince < EVICTION_RECHECK_MS) return;
		const verdict = await this.read();
		if (!verdict.safe) throw evictionError(this.target, verdict);
		this.safeSince = Date.now();
	}
}
