// Whether a write this Redis acknowledged is still there after a restart, a crash or a failover
// (the store's durability(), docs/CONTRACT.md "Durability"). Read from every node that holds
// data: AOF and appendfsync, RDB save points, connected replicas and min-replicas-to-write.
//
// Proportionate, like the eviction gate (eviction.ts):
// - refuse: a Redis that keeps nothing on disk (appendonly no, no save points) forgets every
//   claim and every processed key on any restart — an upgrade, a container restart. Claims are
//   refused unless the credential's allowNoPersistence accepts it;
// - warn: loss needs a crash or a failover the setup allows (RDB snapshots only; AOF whose
//   appendfsync is not `always`; replicas the writes do not wait for). Claims go ahead; the
//   credential test and the nodes' execution hint say it until acceptCrashLoss accepts it;
// - unknown: the server would not say (managed services refuse CONFIG): said, as a warning.
// requireDurability turns every finding about AOF into a refusal nothing accepts.
//
// The reading is kept and read again on every reconnect (a failover can land on a server set up
// differently), after a replica did not confirm a write, and once it is a minute old.

import type { Cluster, Redis } from 'ioredis';
import { StoreMisconfiguredError } from '../errors';
import type { DurabilityFinding, DurabilityReport } from '../types';
import { dataNodes, isReplyError } from './eviction';

const CREDENTIAL = 'the Idempotency Store (Redis) credential';
/** How long a reading is trusted before the next write reads again. */
export const DURABILITY_RECHECK_MS = 60_000;

/** What the credential says about durability. */
export interface DurabilitySettings {
	/** Claim on a Redis that keeps nothing on disk (a test Redis, a cache you accept to lose). */
	allowNoPersistence: boolean;
	/** The warnings (loss on a crash or failover) are known and accepted: no hint, a green test. */
	acceptCrashLoss: boolean;
	/** Refuse claims unless every node has AOF on. */
	requireDurability: boolean;
	/** How many replicas each write waits for: `auto` = one when the primary has replicas. */
	waitForReplicas: 'auto' | 'none' | number;
}

/** What one node says; null where it would not say. */
export interface NodeReading {
	node: string;
	appendonly: 'yes' | 'no' | null;
	appendfsync: string | null;
	save: string | null;
	minReplicasToWrite: number | null;
	/** Connected replicas (INFO replication connected_slaves); null when unread. */
	replicas: number | null;
	/** What could not be read, and why. */
	unread: string[];
}

async function configGet(node: Redis, name: string, unread: string[]): Promise<string | null> {
	try {
		const reply = (await node.config('GET', name)) as unknown as string[];
		if (Array.isArray(reply) && reply.length >= 2) return String(reply[1]);
		unread.push(`CONFIG GET ${name} answered nothing`);
	} catch (error) {
		if (!isReplyError(error)) throw error;
		unread.push(`CONFIG GET ${name} was refused (${(error as Error).message})`);
	}
	return null;
}

async function info(node: Redis, section: string, unread: string[]): Promise<string> {
	try {
		return await node.info(section);
	} catch (error) {
		if (!isReplyError(error)) throw error;
		unread.push(`INFO ${section} was refused (${(error as Error).message})`);
		return '';
	}
}

const field = (text: string, name: string): string | undefined => new RegExp(`^${name}:(\\S*)`, 'm').exec(text)?.[1];

export async function readNode(node: Redis): Promise<NodeReading> {
	const unread: string[] = [];
	const [appendonly, appendfsync, save, minReplicas, replication] = await Promise.all([
		configGet(node, 'appendonly', unread),
		configGet(node, 'appendfsync', unread),
		configGet(node, 'save', unread),
		configGet(node, 'min-replicas-to-write', unread),
		info(node, 'replication', unread),
	]);
	let aof: 'yes' | 'no' | null = appendonly === 'yes' || appendonly === 'no' ? appendonly : null;
	if (aof === null) {
		// Managed services that refuse CONFIG still answer INFO persistence.
		const enabled = field(await info(node, 'persistence', unread), 'aof_enabled');
		if (enabled === '1') aof = 'yes';
	}
	const slaves = field(replication, 'connected_slaves');
	return {
		node: `${node.options.host ?? 'localhost'}:${node.options.port ?? 6379}`,
		appendonly: aof,
		appendfsync,
		save,
		minReplicasToWrite: minReplicas === null ? null : Number(minReplicas),
		replicas: slaves === undefined ? null : Number(slaves),
		unread,
	};
}

/** The longest interval of `save "3600 1 300 100"`, in seconds. */
function longestSaveInterval(save: string): number {
	const numbers = save.trim().split(/\s+/).map(Number);
	let longest = 0;
	for (let i = 0; i < numbers.length; i += 2) longest = Math.max(longest, numbers[i] || 0);
	return longest;
}

/** How many replicas each write waits for, given the replicas the nodes have (the fewest). */
export function replicasToWaitFor(settings: DurabilitySettings, replicas: number | null): number {
	if (settings.waitForReplicas === 'none') return 0;
	if (settings.waitForReplicas === 'auto') return replicas !== null && replicas > 0 ? 1 : 0;
	return settings.waitForReplicas;
}

interface Finding extends DurabilityFinding {
	/** Which nodes it is about (a cluster's masters). */
	nodes?: string[];
}

const AOF_FIX = 'Turn on AOF on this Redis: appendonly yes with appendfsync always (or everysec), in redis.conf and by CONFIG SET — on a managed service, its persistence / AOF setting.';
const ACCEPT = `turn on "Accept Loss on Crash or Failover" in ${CREDENTIAL} to accept it.`;
const ACCEPT_FIX = `Or ${ACCEPT}`;

/** The findings about one node's disk (AOF, RDB). */
function diskFindings(r: NodeReading, s: DurabilitySettings): Finding[] {
	const required = s.requireDurability;
	const requireNote = ' "Require Durability" is on in the credential: claims are refused.';
	if (r.appendonly === 'no' && r.save === '') {
		return [
			{
				level: 'refuse',
				setting: 'appendonly no, save ""',
				risk:
					'It keeps nothing on disk: any restart of Redis (an upgrade, a crash, a container or host restart) forgets every claim and every processed key, and the next delivery of each event is New — a second write.' +
					(required ? requireNote : ''),
				fix: `${AOF_FIX} Or, for a Redis whose loss you accept (a test or demo), turn on "Allow No Persistence" in ${CREDENTIAL}.`,
				accepted: !required && s.allowNoPersistence,
			},
		];
	}
	if (r.appendonly === 'no' && r.save !== null) {
		return [
			{
				level: required ? 'refuse' : 'warn',
				setting: `appendonly no, save "${r.save}" (RDB snapshots only)`,
				risk:
					`It keeps only snapshots: a crash or kill of Redis forgets every write since the last snapshot (up to ${longestSaveInterval(r.save)} s of claims and processed keys); those events are New again on their next delivery.` +
					(required ? requireNote : ''),
				fix: required ? AOF_FIX : `${AOF_FIX} ${ACCEPT_FIX}`,
				accepted: !required && s.acceptCrashLoss,
			},
		];
	}
	if (r.appendonly === 'yes') {
		if (r.appendfsync === 'always') return [];
		if (r.appendfsync === 'everysec' || r.appendfsync === 'no') {
			const lost = r.appendfsync === 'everysec' ? 'up to 1 s' : 'up to about 30 s (whenever the operating system flushes)';
			return [
				{
					level: 'warn',
					setting: `appendonly yes, appendfsync ${r.appendfsync}`,
					risk: `A crash of the machine (operating system, power) loses ${lost} of acknowledged writes; a crash of Redis alone loses nothing.`,
					fix: `Set appendfsync always (every write reaches the disk before Redis answers; slower). ${ACCEPT_FIX}`,
					accepted: s.acceptCrashLoss,
				},
			];
		}
		return [
			{
				level: 'unknown',
				setting: 'appendfsync (could not be read)',
				risk: `AOF is on, but how often it reaches the disk could not be read (${r.unread.join('; ')}): a machine crash may lose the last writes.`,
				fix: `Let the credential's user run CONFIG GET (ACL +config|get), or check appendfsync on the service and ${ACCEPT}`,
				accepted: s.acceptCrashLoss,
			},
		];
	}
	// AOF off or unread, save points unread: it may keep nothing at all.
	return [
		{
			level: required ? 'refuse' : 'unknown',
			setting: 'appendonly, save (could not be read)',
			risk:
				`Whether this Redis keeps acknowledged writes over a restart could not be read (${r.unread.join('; ')}): without AOF or snapshots a restart forgets every claim.` +
				(required ? requireNote : ''),
			fix: required
				? `Let the credential's user run CONFIG GET (ACL +config|get) so that AOF can be seen, or turn off "Require Durability".`
				: `Let the credential's user run CONFIG GET (ACL +config|get), or make sure AOF is on for this service and ${ACCEPT}`,
			accepted: !required && s.acceptCrashLoss,
		},
	];
}

/** The findings about failover: replicas the writes do not wait for, or cannot. */
function replicaFindings(readings: NodeReading[], s: DurabilitySettings): Finding[] {
	const fewest = fewestReplicas(readings);
	const waits = replicasToWaitFor(s, fewest);
	const withReplicas = readings.filter((r) => (r.replicas ?? 0) > 0);
	if (withReplicas.length > 0 && waits === 0) {
		return [
			{
				level: 'warn',
				setting: `${withReplicas.map((r) => `${r.replicas} connected replica(s)`)[0]}, "Wait for Replicas" ${s.waitForReplicas === 'none' ? 'None' : 'Automatic'}`,
				risk:
					s.waitForReplicas === 'none'
						? 'Writes do not wait for the replicas: a failover to a replica that had not received the last writes loses them, and those events are New again.'
						: 'Some nodes have no replica, so writes do not wait for one: a failover of a node with replicas can lose its last writes.',
				fix: `Set "Wait for Replicas" to Automatic (or a number) in ${CREDENTIAL}. ${ACCEPT_FIX}`,
				accepted: s.acceptCrashLoss,
				nodes: withReplicas.map((r) => r.node),
			},
		];
	}
	if (waits > 0 && fewest !== null && fewest < waits) {
		return [
			{
				level: 'warn',
				setting: `"Wait for Replicas" ${waits}, ${fewest} connected replica(s)`,
				risk: `Every write waits for ${waits} replica(s) but only ${fewest} is connected: every claim is Ambiguous (not_replicated) and every settlement fails as not confirmed until enough replicas are connected.`,
				fix: `Connect the replicas, or lower "Wait for Replicas" in ${CREDENTIAL}.`,
				accepted: false,
			},
		];
	}
	return [];
}

export function fewestReplicas(readings: NodeReading[]): number | null {
	const known = readings.map((r) => r.replicas).filter((n): n is number => n !== null);
	return known.length === 0 ? null : Math.min(...known);
}

/** What is safe, in words, for the credential test. */
function safeNotes(readings: NodeReading[], s: DurabilitySettings): string[] {
	const notes: string[] = [];
	if (readings.every((r) => r.appendonly === 'yes' && r.appendfsync === 'always')) notes.push('AOF with appendfsync always: a crash loses no acknowledged write.');
	else if (readings.every((r) => r.appendonly === 'yes')) notes.push('AOF is on: a restart or a crash of Redis keeps every acknowledged write.');
	const waits = replicasToWaitFor(s, fewestReplicas(readings));
	if (waits > 0) notes.push(`Every write waits (WAIT) for ${waits} replica(s) to confirm it: a failover to a replica keeps every acknowledged write; unconfirmed claims are Ambiguous (not_replicated).`);
	const min = readings.find((r) => (r.minReplicasToWrite ?? 0) > 0);
	if (min) notes.push(`min-replicas-to-write ${min.minReplicasToWrite}: Redis refuses writes while fewer replicas are connected (it does not wait per write; the store's WAIT does).`);
	return notes;
}

/** Merges the same finding of several nodes into one that names them. */
function merge(findings: Finding[], cluster: boolean): DurabilityFinding[] {
	const byKey = new Map<string, Finding>();
	for (const f of findings) {
		const key = `${f.level}|${f.setting}|${f.accepted}`;
		const seen = byKey.get(key);
		if (seen) seen.nodes = [...(seen.nodes ?? []), ...(f.nodes ?? [])];
		else byKey.set(key, { ...f, nodes: [...(f.nodes ?? [])] });
	}
	return [...byKey.values()].map(({ nodes, ...f }) => (cluster && nodes && nodes.length > 0 ? { ...f, setting: `${f.setting} on ${nodes.join(', ')}` } : f));
}

export interface RedisDurabilityReport extends DurabilityReport {
	/** What is safe, in words. */
	notes: string[];
	/** How many replicas each write waits for now (0: none). */
	waitFor: number;
}

export function assess(readings: NodeReading[], settings: DurabilitySettings, cluster: boolean): RedisDurabilityReport {
	const findings = merge(
		[...readings.flatMap((r) => diskFindings(r, settings).map((f) => ({ ...f, nodes: [r.node] }))), ...replicaFindings(readings, settings)],
		cluster,
	);
	return {
		safe: findings.every((f) => f.accepted === true),
		findings,
		checkedAt: Date.now(),
		notes: safeNotes(readings, settings),
		waitFor: replicasToWaitFor(settings, fewestReplicas(readings)),
	};
}

/** One finding in words: `<target> has <setting>. <risk> <fix>` (no fix once the credential accepts it). */
export function describeFinding(target: string, finding: DurabilityFinding): string {
	return `${target} has ${finding.setting}. ${finding.risk}${finding.accepted ? '' : ` ${finding.fix}`}`;
}

/** The error a claim gets while a refusing finding is not accepted. */
export function durabilityError(target: string, findings: DurabilityFinding[]): StoreMisconfiguredError {
	const [first, ...more] = findings;
	const text = [first, ...more].map((f) => `${target} has ${f.setting}. ${f.risk}`).join(' ');
	return new StoreMisconfiguredError(`${text} Claims are refused.`, first.fix);
}

/**
 * The durability of one store's Redis, read at first use and again on reconnect, after an
 * unconfirmed write and once a minute; one reading at a time, shared by the calls waiting for it.
 */
export class DurabilityMonitor {
	private report: RedisDurabilityReport | null = null;
	private reading: Promise<RedisDurabilityReport> | null = null;

	constructor(
		private readonly client: Redis | Cluster,
		private readonly target: string,
		readonly settings: DurabilitySettings,
	) {}

	/** The next call reads the server again (a reconnect, a failover, an unconfirmed write). */
	stale(): void {
		this.report = null;
	}

	current(): Promise<RedisDurabilityReport> {
		if (this.report && Date.now() - this.report.checkedAt < DURABILITY_RECHECK_MS) return Promise.resolve(this.report);
		if (!this.reading) {
			const cluster = (this.client as Cluster).isCluster === true;
			this.reading = dataNodes(this.client)
				.then((nodes) => Promise.all(nodes.map(readNode)))
				.then((readings) => (this.report = assess(readings, this.settings, cluster)))
				.finally(() => {
					this.reading = null;
				});
		}
		return this.reading;
	}

	/** Before a claim: refuses while a refusing finding is not accepted. */
	async ensureSafe(): Promise<RedisDurabilityReport> {
		const report = await this.current();
		const refused = report.findings.filter((f) => f.level === 'refuse' && !f.accepted);
		if (refused.length > 0) throw durabilityError(this.target, refused);
		return report;
	}
}
