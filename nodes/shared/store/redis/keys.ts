// Where a namespace's data lives in Redis. Every key of one namespace carries the same hash tag,
// `{<namespace>}`, so the multi-key scripts run on Redis Cluster:
//
//   <prefix>{<ns>}:r:<key>            hash   the record of <key>
//   <prefix>{<ns>}:h:<key>            list   its history, one JSON event per entry, oldest first
//   <prefix>{<ns>}:i:keys             zset   every record's key, score 0 (list in key order)
//   <prefix>{<ns>}:i:state:<state>    zset   records in <state>, score updatedAt
//   <prefix>{<ns>}:i:lease            zset   processing records, score leaseUntil (stuck claims)
//   <prefix>{<ns>}:i:expires          zset   settled records, score expiresAt (purge)
//   <prefix>{<ns>}:stats              hash   '<hourStartMs>:<counter>' -> count
//   <prefix>{<ns>}:stats:hours        zset   hours that have counters
//
// <ns> is the namespace itself when it only holds [A-Za-z0-9_.-], else `~` and its UTF-8 bytes in
// base64url: a namespace such as `a}b` can neither end the hash tag early nor equal another one.
// <key> is the key verbatim: it comes after a fixed `:r:`/`:h:` that no index name shares, so two
// keys never meet in one Redis key.

import { InvalidInputError } from '../errors';
import { hasLoneSurrogate } from '../identifiers';
import type { RecordState } from '../types';

const PLAIN_NAMESPACE = /^[A-Za-z0-9_.-]+$/;

export function namespaceTag(namespace: string): string {
	if (PLAIN_NAMESPACE.test(namespace)) return namespace;
	return `~${Buffer.from(namespace, 'utf8').toString('base64url')}`;
}

/** Text that would not survive the trip to Redis unchanged (UTF-8) could make two keys one. */
function assertEncodable(what: string, value: unknown): asserts value is string {
	if (typeof value !== 'string') throw new InvalidInputError(`The ${what} must be text`);
	if (hasLoneSurrogate(value)) {
		throw new InvalidInputError(`The ${what} contains broken Unicode (a lone surrogate)`, 'Use valid text.');
	}
}

export class NamespaceKeys {
	private readonly base: string;
	readonly keysIndex: string;
	readonly leaseIndex: string;
	readonly expiryIndex: string;
	readonly stats: string;
	/** KEYS[1..9] of every script, in the order includes/common.lua names them. */
	readonly scriptKeys: string[];

	constructor(prefix: string, namespace: string) {
		assertEncodable('namespace', namespace);
		if (namespace.length === 0) throw new InvalidInputError('The namespace is empty');
		this.base = `${prefix}{${namespaceTag(namespace)}}:`;
		this.keysIndex = `${this.base}i:keys`;
		this.leaseIndex = `${this.base}i:lease`;
		this.expiryIndex = `${this.base}i:expires`;
		this.stats = `${this.base}stats`;
		this.scriptKeys = [
			this.keysIndex,
			this.stateIndex('received'),
			this.stateIndex('processing'),
			this.stateIndex('processed'),
			this.stateIndex('failed'),
			this.leaseIndex,
			this.expiryIndex,
			this.stats,
			`${this.stats}:hours`,
		];
	}

	stateIndex(state: RecordState): string {
		return `${this.base}i:state:${state}`;
	}

	record(key: string): string {
		assertEncodable('key', key);
		return `${this.base}r:${key}`;
	}

	history(key: string): string {
		assertEncodable('key', key);
		return `${this.base}h:${key}`;
	}
}
