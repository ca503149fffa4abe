// Where a namespace's data lives in Redis. Every key of one namespace carries the same hash tag,
// `{<namespace>}`, so the multi-key scripts run on Redis Cluster:
//
//   <prefix>{<ns>}:r:<key>            hash   the record of <key>
//   <prefix>{<ns>}:h:<key>            list   its history, one packed event per entry, oldest first
//                                            (record.lua; a run of duplicates is one entry)
//   <prefix>{<ns>}:i:keys             zset   every record's key, score 0 (list in key order)
//   <prefix>{<ns>}:i:state:<state>    zset   records in <state>, score updatedAt
//   <prefix>{<ns>}:i:lease            zset   processing records, score leaseUntil (stuck claims)
//   <prefix>{<ns>}:i:expires          zset   settled records, score expiresAt (purge)
//   <prefix>{<ns>}:i:exceptions       zset   open exceptions: member <uuid>, score firstSeenAt
//   <prefix>{<ns>}:i:exceptions:seen  zset   exceptions by lastSeenAt (the trigger's feed; resolved
//                                            ones are dropped from it when the feed meets them)
//   <prefix>{<ns>}:stats              hash   '<hourStartMs>:<counter>' -> count, and
//                                            '<hourStartMs>:resolved' -> '<via>:<ms open>,…'
//                                            (the report, lua/includes/counters.lua)
//   <prefix>{<ns>}:stats:hours        zset   hours that have counters
//   <prefix>{<ns>}:x:<key>            hash   every exception of <key>, open or resolved:
//                                            <uuid> -> the exception as JSON
//   <prefix>{<ns>}:xo:<key>           hash   the open exceptions of <key>: <reason> -> <uuid>, and
//                                            '' -> <uuid> for its open incident (groupBy = key)
//   <prefix>{<ns>}:xid:<uuid>         string the key of exception <uuid> (never changes)
//   <prefix>{<ns>}:q:<uuid>           string the reply of one writing script call, 60 s
//                                            (lua/includes/request.lua: a re-sent call gets it)
//
// and one key outside every namespace, for listing open exceptions across namespaces:
//
//   <prefix>exceptions:open           zset   open exception ids, score firstSeenAt
//   <prefix>namespaces                set    every namespace that was claimed in or had an exception
//                                            (the trigger's "every namespace"; never shrinks)
//
// Scripts write only the namespace's own keys (one slot); the cross-namespace index lives in
// another slot, so it is written after the script and readers check every entry (RedisStore).
//
// <ns> is the namespace itself when it only holds [A-Za-z0-9_.-], else `~` and its UTF-8 bytes in
// base64url: a namespace such as `a}b` can neither end the hash tag early nor equal another one.
// <key> is the key verbatim: it comes after a fixed `:r:`/`:h:`/`:x:`/`:xo:` that no other name
// shares, so two keys never meet in one Redis key.
//
// An exception id is `<uuid>.<tag>`, e.g. `0b8e…-…-5c1d.crm-leads`: the uuid names the exception,
// the tag says which namespace (and so which cluster slot) holds it, so an id alone finds it.
// It only holds [0-9a-f-], `.`, `~` and [A-Za-z0-9_.-]: safe to paste into a URL or a form.
//
// On Redis Cluster a namespace may be spread over hash-tag buckets (buckets.ts): every key above
// but the cross-namespace ones then exists once per bucket, under the tag `<ns>~<n>` instead of
// `<ns>`, and a key's record, history and exceptions live in its own bucket. No namespace has a
// tag with a `~` after its first character, so a bucket's tag never equals a namespace's. Which
// layout a namespace has is named by one more key in its own (unbucketed) slot:
//
//   <prefix>{<ns>}:layout             string 'single' | 'buckets:<count>' (lua/layout.lua)

import { InvalidInputError } from '../errors';
import { hasLoneSurrogate } from '../identifiers';
import type { RecordState } from '../types';

const PLAIN_NAMESPACE = /^[A-Za-z0-9_.-]+$/;
const ENCODED_NAMESPACE = /^~[A-Za-z0-9_-]+$/;
const EXCEPTION_ID = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\.(.+)$/;

export function namespaceTag(namespace: string): string {
	if (PLAIN_NAMESPACE.test(namespace)) return namespace;
	return `~${Buffer.from(namespace, 'utf8').toString('base64url')}`;
}

/** The namespace a tag stands for, or null when no namespace has this tag. */
export function namespaceOfTag(tag: string): string | null {
	if (PLAIN_NAMESPACE.test(tag)) return tag;
	if (!ENCODED_NAMESPACE.test(tag)) return null;
	const namespace = Buffer.from(tag.slice(1), 'base64url').toString('utf8');
	return namespace.length > 0 && namespaceTag(namespace) === tag ? namespace : null;
}

/** An exception's id: its uuid and the tag of the slot that holds it (a namespace's or a bucket's). */
export function exceptionId(uuid: string, keys: NamespaceKeys): string {
	return `${uuid}.${keys.tag}`;
}

/** A bucket's tag: `<namespace tag>~<suffix>` (cluster hook, see buckets.ts). */
const BUCKET_TAG = /^(.+)~(0|[1-9][0-9]{0,8})$/;

export interface ExceptionRef {
	uuid: string;
	namespace: string;
	/** Set when the exception lives in one of the namespace's buckets (buckets.ts). */
	suffix?: number;
}

/** The parts of an exception id, or null when the text cannot be one (nothing to look up). */
export function parseExceptionId(id: unknown): ExceptionRef | null {
	if (typeof id !== 'string') return null;
	const match = EXCEPTION_ID.exec(id.trim());
	if (!match) return null;
	const bucket = BUCKET_TAG.exec(match[2]);
	const namespace = namespaceOfTag(bucket ? bucket[1] : match[2]);
	if (namespace === null) return null;
	const uuid = match[1].toLowerCase();
	return bucket ? { uuid, namespace, suffix: Number(bucket[2]) } : { uuid, namespace };
}

/** The cross-namespace index of open exception ids (see the layout above). */
export function openExceptionsEverywhere(prefix: string): string {
	return `${prefix}exceptions:open`;
}

/** The namespaces that have data (see the layout above). */
export function namespacesEverywhere(prefix: string): string {
	return `${prefix}namespaces`;
}

/** Text that would not survive the trip to Redis unchanged (UTF-8) could make two keys one. */
function assertEncodable(what: string, value: unknown): asserts value is string {
	if (typeof value !== 'string') throw new InvalidInputError(`The ${what} must be text`);
	if (hasLoneSurrogate(value)) {
		throw new InvalidInputError(`The ${what} contains broken Unicode (a lone surrogate)`, 'Use valid text.');
	}
}

export class NamespaceKeys {
	/** What stands between the braces: the namespace's tag, or one of its buckets' (buckets.ts). */
	readonly tag: string;
	private readonly base: string;
	readonly keysIndex: string;
	readonly leaseIndex: string;
	readonly expiryIndex: string;
	readonly openExceptionsIndex: string;
	/** Exceptions by lastSeenAt, for the trigger's feed. */
	readonly seenExceptionsIndex: string;
	readonly stats: string;
	/** KEYS[1..10] of every script, in the order includes/common.lua names them. */
	readonly scriptKeys: string[];

	/** `suffix` (cluster hook, buckets.ts): the keys of the namespace's bucket `<tag>~<suffix>`. */
	constructor(prefix: string, namespace: string, readonly suffix?: number) {
		assertEncodable('namespace', namespace);
		if (namespace.length === 0) throw new InvalidInputError('The namespace is empty');
		this.tag = suffix === undefined ? namespaceTag(namespace) : `${namespaceTag(namespace)}~${suffix}`;
		this.base = `${prefix}{${this.tag}}:`;
		this.keysIndex = `${this.base}i:keys`;
		this.leaseIndex = `${this.base}i:lease`;
		this.expiryIndex = `${this.base}i:expires`;
		this.openExceptionsIndex = `${this.base}i:exceptions`;
		this.seenExceptionsIndex = `${this.base}i:exceptions:seen`;
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
			this.openExceptionsIndex,
		];
	}

	stateIndex(state: RecordState): string {
		return `${this.base}i:state:${state}`;
	}

	record(key: string): string {
		return this.ofKey('r', key);
	}

	history(key: string): string {
		return this.ofKey('h', key);
	}

	/** Every exception of `key`, open or resolved, by uuid. */
	exceptions(key: string): string {
		return this.ofKey('x', key);
	}

	/** The open exceptions of `key`, by reason. */
	openExceptions(key: string): string {
		return this.ofKey('xo', key);
	}

	/** The Redis key of one of `key`'s structures (kind r, h, x or xo), once `key` is known to fit. */
	private ofKey(kind: string, key: string): string {
		assertEncodable('key', key);
		return `${this.base}${kind}:${key}`;
	}

	/** The key of the exception with this uuid. */
	exceptionKey(uuid: string): string {
		return `${this.base}xid:${uuid}`;
	}

	/** Which layout the namespace has (only meaningful on its own tag, not a bucket's). */
	get layoutMarker(): string {
		return `${this.base}layout`;
	}
}
