// Hot namespaces on Redis Cluster: one namespace spread over a fixed number of hash-tag buckets,
// so that a busy workflow's keys land on every master instead of one slot's.
//
// - A key's bucket is a stable hash of the key (bucketOfKey), so all of one key's data — record,
//   history, exceptions — is in its bucket's slot and each script stays atomic per key. A chunk
//   is split per bucket (perBucket): one script call per bucket, the calls run in parallel and
//   their replies come back in request order.
// - Each bucket has every per-namespace key of keys.ts under the tag `<ns>~<suffix>`. The suffix
//   is found so that the bucket's slot sits in the middle of the bucket's share of the 16384
//   slots (bucket i of B: i·16384/B ... (i+1)·16384/B): masters own contiguous, roughly equal
//   slot ranges, so B buckets spread evenly over them. B = 24 puts exactly 8 buckets on each
//   master of 3 (and 12/6/3 on 2/4/8 masters) when the slots are split evenly; it costs list,
//   stats and purge one call per bucket.
// - Which layout a namespace has is decided once, in its own slot (lua/layout.lua), and kept: a
//   namespace with data in the one-slot layout (written before buckets) keeps it, so existing
//   data stays where readers look; a new namespace is spread. The marker names the bucket count,
//   so a later change of CLUSTER_BUCKETS never moves the keys of a spread namespace. Only a write
//   decides a new namespace: a read of one writes no marker and reads it as spread, each time
//   again until a write has decided.
// - A chunk split over buckets is all or nothing (allOrNothing): when one bucket's call fails,
//   what the other buckets' calls did is undone before the failure is reported.
// - Standalone Redis is one server: spreading would cost fan-out for nothing, so a standalone
//   store keeps the one-slot layout and never reads or writes a marker.

import { IdempotencyError } from '../errors';
import { NamespaceKeys } from './keys';
import type { ScriptRunner } from './scripts';

/** How many buckets a new namespace gets on a cluster. */
export const CLUSTER_BUCKETS = 24;
const SLOTS = 16384;
const SINGLE = 'single';
/** layout.lua's answer to a read of a namespace without marker and data. */
const NONE = 'none';
const SPREAD = /^buckets:([1-9][0-9]{0,3})$/;
/** Layouts remembered per store; past this many namespaces the memory starts over. */
const MAX_CACHED = 10_000;

// --- slots and hashes --------------------------------------------------------------------------

const CRC16_TABLE = (() => {
	const table = new Uint16Array(256);
	for (let i = 0; i < 256; i++) {
		let crc = i << 8;
		for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
		table[i] = crc;
	}
	return table;
})();

/** Redis Cluster's slot of a key whose hash tag is `tag` (CRC16-XMODEM of the tag, mod 16384). */
export function slotOfTag(tag: string): number {
	let crc = 0;
	for (const byte of Buffer.from(tag, 'utf8')) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff];
	return crc % SLOTS;
}

/**
 * The suffix of each of `count` buckets of the namespace tag: the first number n whose tag
 * `<tag>~n` has its slot in the middle half of the bucket's share of the slots.
 */
export function bucketSuffixes(namespaceTag: string, count: number): number[] {
	const width = SLOTS / count;
	const suffixes: number[] = new Array(count).fill(-1);
	let missing = count;
	for (let n = 0; missing > 0; n++) {
		if (n > 10_000_000) throw new Error(`No hash tags found for ${count} buckets of ${namespaceTag}`);
		const slot = slotOfTag(`${namespaceTag}~${n}`);
		const bucket = Math.floor(slot / width);
		const offset = slot - bucket * width;
		if (suffixes[bucket] === -1 && offset >= width / 4 && offset < (3 * width) / 4) {
			suffixes[bucket] = n;
			missing--;
		}
	}
	return suffixes;
}

/** The bucket of a key: FNV-1a over its UTF-8 bytes, mixed (murmur3's finalizer), mod count. */
export function bucketOfKey(key: string, count: number): number {
	if (count === 1) return 0;
	let hash = 0x811c9dc5;
	const feed = (byte: number) => {
		hash = Math.imul(hash ^ byte, 0x01000193);
	};
	for (let i = 0; i < key.length; i++) {
		let code = key.charCodeAt(i);
		if (code >= 0xd800 && code < 0xdc00 && i + 1 < key.length) {
			code = 0x10000 + ((code - 0xd800) << 10) + (key.charCodeAt(++i) - 0xdc00);
		}
		if (code < 0x80) feed(code);
		else if (code < 0x800) {
			feed(0xc0 | (code >> 6));
			feed(0x80 | (code & 0x3f));
		} else if (code < 0x10000) {
			feed(0xe0 | (code >> 12));
			feed(0x80 | ((code >> 6) & 0x3f));
			feed(0x80 | (code & 0x3f));
		} else {
			feed(0xf0 | (code >> 18));
			feed(0x80 | ((code >> 12) & 0x3f));
			feed(0x80 | ((code >> 6) & 0x3f));
			feed(0x80 | (code & 0x3f));
		}
	}
	hash ^= hash >>> 16;
	hash = Math.imul(hash, 0x85ebca6b);
	hash ^= hash >>> 13;
	hash = Math.imul(hash, 0xc2b2ae35);
	hash ^= hash >>> 16;
	return (hash >>> 0) % count;
}

// --- a namespace's layout ----------------------------------------------------------------------

/** Where one namespace's keys are: one slot, or its buckets. */
export class NamespaceLayout {
	/** The keys of each bucket; one entry (the namespace's own keys) in the one-slot layout. */
	readonly buckets: NamespaceKeys[];

	constructor(
		readonly namespace: string,
		single: NamespaceKeys,
		prefix: string,
		bucketCount = 1,
	) {
		this.buckets =
			bucketCount === 1
				? [single]
				: bucketSuffixes(single.tag, bucketCount).map((suffix) => new NamespaceKeys(prefix, namespace, suffix));
	}

	get spread(): boolean {
		return this.buckets.length > 1;
	}

	/** The keys of the bucket that holds `key`. */
	keysOf(key: string): NamespaceKeys {
		return this.buckets[bucketOfKey(key, this.buckets.length)];
	}

	/** The keys of the bucket with this suffix (an exception id names it), or null. */
	bucketWithSuffix(suffix: number | undefined): NamespaceKeys | null {
		return this.buckets.find((keys) => keys.suffix === suffix) ?? null;
	}

	/**
	 * Runs `run` once per bucket that has items, all buckets at once, each with its items in their
	 * order; `run` returns one result per item. The results come back in the items' order. When a
	 * bucket's call fails, every other call is still waited for before the first failure is
	 * thrown, so that a caller undoing what the others did (claimChunk) knows all of it.
	 */
	async perBucket<T, R>(items: T[], keyOf: (item: T) => string, run: (keys: NamespaceKeys, items: T[]) => Promise<R[]>): Promise<R[]> {
		if (!this.spread) return run(this.buckets[0], items);
		const positions = new Map<number, number[]>();
		items.forEach((item, i) => {
			const bucket = bucketOfKey(keyOf(item), this.buckets.length);
			const list = positions.get(bucket);
			if (list) list.push(i);
			else positions.set(bucket, [i]);
		});
		const results = new Array<R>(items.length);
		const settled = await Promise.allSettled(
			[...positions].map(async ([bucket, list]) => {
				const replies = await run(this.buckets[bucket], list.map((i) => items[i]));
				list.forEach((i, n) => {
					results[i] = replies[n];
				});
			}),
		);
		const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
		if (failed) throw failed.reason;
		return results;
	}

	/**
	 * perBucket for a write that is all or nothing: when one bucket's call fails, `undo` runs for
	 * every bucket that answered (its keys, items and results), in parallel, before the first
	 * failure is thrown. The undo is best effort: when it fails too, its failure is dropped.
	 */
	async allOrNothing<T, R>(
		items: T[],
		keyOf: (item: T) => string,
		run: (keys: NamespaceKeys, items: T[]) => Promise<R[]>,
		undo: (keys: NamespaceKeys, items: T[], results: R[]) => Promise<unknown>,
	): Promise<R[]> {
		const answered: Array<{ keys: NamespaceKeys; items: T[]; results: R[] }> = [];
		try {
			return await this.perBucket(items, keyOf, async (keys, chunk) => {
				const results = await run(keys, chunk);
				answered.push({ keys, items: chunk, results });
				return results;
			});
		} catch (error) {
			await Promise.all(answered.map((done) => undo(done.keys, done.items, done.results).catch(() => undefined)));
			throw error;
		}
	}
}

/** The layout a new namespace gets on a cluster (what its marker will say). */
export function spreadLayout(prefix: string, namespace: string, bucketCount = CLUSTER_BUCKETS): NamespaceLayout {
	return new NamespaceLayout(namespace, new NamespaceKeys(prefix, namespace), prefix, bucketCount);
}

/**
 * Finds each namespace's layout once per store: on a cluster from its marker (lua/layout.lua),
 * on a standalone Redis always the one-slot layout. A layout never changes once decided, so it
 * is remembered. A read of a namespace that no write has decided yet gets the spread layout it
 * will have (it holds nothing anyway), neither written nor remembered.
 */
export class LayoutResolver {
	private readonly known = new Map<string, Promise<NamespaceLayout>>();

	constructor(
		private readonly prefix: string,
		private readonly runLayout: ScriptRunner,
		/** Buckets for a new namespace; 1 = never spread (standalone). */
		private readonly bucketCount: number,
	) {}

	/** The layout to write in (`write`, decided now if need be) or to read in (`read`). */
	resolve(namespace: string, access: 'write' | 'read' = 'write'): Promise<NamespaceLayout> {
		const single = new NamespaceKeys(this.prefix, namespace); // checks the namespace first
		if (this.bucketCount === 1) return Promise.resolve(new NamespaceLayout(namespace, single, this.prefix));
		const known = this.known.get(namespace);
		if (known) return known;
		if (access === 'read') return this.look(namespace, single);
		return this.remember(namespace, this.ask(single, 'write').then((marker) => this.fromMarker(namespace, single, marker)));
	}

	private remember(namespace: string, layout: Promise<NamespaceLayout>): Promise<NamespaceLayout> {
		if (this.known.size >= MAX_CACHED) this.known.clear();
		this.known.set(namespace, layout);
		layout.catch(() => this.known.delete(namespace));
		return layout;
	}

	/** For a read: the decided layout (remembered from now on), else the spread one, not remembered. */
	private async look(namespace: string, single: NamespaceKeys): Promise<NamespaceLayout> {
		const marker = await this.ask(single, 'read');
		if (marker === NONE) return new NamespaceLayout(namespace, single, this.prefix, this.bucketCount);
		const layout = this.fromMarker(namespace, single, marker);
		if (!this.known.has(namespace)) this.remember(namespace, Promise.resolve(layout));
		return layout;
	}

	/** What the marker says (lua/layout.lua): decided now for a write, NONE for a read of nothing. */
	private async ask(single: NamespaceKeys, access: 'write' | 'read'): Promise<string> {
		const asked = `buckets:${this.bucketCount}`;
		return String(await this.runLayout([single.layoutMarker, ...single.scriptKeys, single.seenExceptionsIndex], [asked, access]));
	}

	private fromMarker(namespace: string, single: NamespaceKeys, marker: string): NamespaceLayout {
		if (marker === SINGLE) return new NamespaceLayout(namespace, single, this.prefix);
		const spread = SPREAD.exec(marker);
		if (!spread) {
			throw new IdempotencyError(
				`The layout marker ${single.layoutMarker} holds "${marker}", which this version of the package does not know: ` +
					'a newer version wrote it. Update the package on every n8n process that uses this Redis.',
			);
		}
		return new NamespaceLayout(namespace, single, this.prefix, Number(spread[1]));
	}
}
