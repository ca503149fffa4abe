// Reading the namespace indexes page by page, and the records they name, for list and
// listOpenExceptions (RedisStore.ts).

import type { Cluster, Redis } from 'ioredis';
import type { KeyRecord } from '../types';
import { toRecord, type ListCursor } from './codec';

/** Index entries one list call looks at before it returns a (possibly short) page and a cursor. */
const LIST_SCAN_BUDGET = 1000;

export async function execPipeline(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
	const results = (await pipeline.exec()) ?? [];
	return results.map(([error, value]) => {
		if (error) throw error;
		return value;
	});
}

interface IndexBatch {
	entries: ListCursor[];
	/** No entries beyond this batch. */
	done: boolean;
}

/** The keys index, in Redis' byte order of keys (ZRANGEBYLEX), after a cursor's key. */
export class KeyOrderReader {
	private after: string | null;

	constructor(
		private readonly client: Redis | Cluster,
		private readonly index: string,
		cursor: ListCursor | null,
	) {
		this.after = cursor?.key ?? null;
	}

	async next(count: number): Promise<IndexBatch> {
		const from = this.after === null ? '-' : `(${this.after}`;
		const keys = await this.client.zrangebylex(this.index, from, '+', 'LIMIT', 0, count);
		if (keys.length > 0) this.after = keys[keys.length - 1];
		return { entries: keys.map((key) => ({ score: 0, key })), done: keys.length < count };
	}
}

/**
 * A scored index in (score, key) order up to `maxScore`, after a cursor. The start is found by the
 * cursor key's rank; when that key has moved since, by its score, skipping the keys of that score
 * that sort before it (Redis orders equal scores by bytes).
 */
export class ScoreOrderReader {
	private rank: number | null = null;

	constructor(
		private readonly client: Redis | Cluster,
		private readonly index: string,
		private readonly maxScore: number,
		private readonly cursor: ListCursor | null,
	) {}

	private async startRank(): Promise<number> {
		if (this.cursor === null) return 0;
		const { score, key } = this.cursor;
		const [current, rank] = await execPipeline(this.client.pipeline().zscore(this.index, key).zrank(this.index, key));
		if (current !== null && Number(current) === score && rank !== null) return Number(rank) + 1;
		return this.client.zcount(this.index, '-inf', `(${score}`);
	}

	private isAfterCursor(entry: ListCursor): boolean {
		if (this.cursor === null || entry.score > this.cursor.score) return true;
		if (entry.score < this.cursor.score) return false;
		return Buffer.compare(Buffer.from(entry.key, 'utf8'), Buffer.from(this.cursor.key, 'utf8')) > 0;
	}

	async next(count: number): Promise<IndexBatch> {
		if (this.rank === null) this.rank = await this.startRank();
		const flat = await this.client.zrange(this.index, this.rank, this.rank + count - 1, 'WITHSCORES');
		this.rank += flat.length / 2;
		const entries: ListCursor[] = [];
		for (let i = 0; i + 1 < flat.length; i += 2) {
			const entry = { key: flat[i], score: Number(flat[i + 1]) };
			if (entry.score > this.maxScore) return { entries, done: true };
			if (this.isAfterCursor(entry)) entries.push(entry);
		}
		return { entries, done: flat.length / 2 < count };
	}
}

export interface RecordScan {
	/** Up to limit + 1 wanted records, with the index entry each was found at. */
	found: Array<{ record: KeyRecord; at: ListCursor }>;
	/** Per reader (bucket): keys whose index entry outlived the record (Redis expired it), to forget. */
	gone: string[][];
	lastScanned: ListCursor | null;
	/** The readers have no entries beyond those scanned. */
	exhausted: boolean;
}

/**
 * Reads records in the readers' merged order — one reader per bucket of the namespace (cluster
 * hook, buckets.ts), or the namespace's one —, one pipeline per batch, until limit + 1 are
 * wanted, the indexes end, or LIST_SCAN_BUDGET entries were looked at.
 */
export async function scanRecords(
	client: Redis | Cluster,
	readers: IndexReader[],
	recordKey: (reader: number, key: string) => string,
	namespace: string,
	wanted: (record: KeyRecord) => boolean,
	limit: number,
	cursor: ListCursor | null,
): Promise<RecordScan> {
	const batchSize =
		readers.length === 1
			? Math.min(500, Math.max(limit + 1, 100))
			: Math.min(500, Math.max(16, Math.ceil((2 * (limit + 1)) / readers.length)));
	const walk = new MergedReader(readers, batchSize, async (source, entries) => {
		const pipeline = client.pipeline();
		for (const entry of entries) pipeline.hgetall(recordKey(source, entry.key));
		return (await execPipeline(pipeline)) as Array<Record<string, string>>;
	});
	const scan: RecordScan = { found: [], gone: readers.map(() => []), lastScanned: cursor, exhausted: false };
	for (let scanned = 0; scanned < LIST_SCAN_BUDGET; scanned++) {
		const next = await walk.next();
		if (next === null) break;
		scan.lastScanned = next.entry;
		const record = toRecord(namespace, next.entry.key, next.loaded);
		if (record === null) {
			scan.gone[next.source].push(next.entry.key);
		} else if (wanted(record)) {
			scan.found.push({ record, at: next.entry });
			if (scan.found.length > limit) return scan;
		}
	}
	scan.exhausted = walk.exhausted;
	return scan;
}

// --- across buckets (cluster hook, buckets.ts) -------------------------------------------------

/** A reader of one index, as KeyOrderReader and ScoreOrderReader are. */
export interface IndexReader {
	next(count: number): Promise<IndexBatch>;
}

/** An entry of a merged walk, with the bucket it came from and what `load` read for it. */
export interface MergedEntry<T> {
	entry: ListCursor;
	source: number;
	loaded: T;
}

/** (score, key as UTF-8 bytes): the order of every index, across buckets too (a key is in one). */
export function compareEntries(a: ListCursor, b: ListCursor): number {
	return a.score - b.score || Buffer.compare(Buffer.from(a.key, 'utf8'), Buffer.from(b.key, 'utf8'));
}

/**
 * One walk in (score, key) order over the same index of every bucket of a namespace. Each bucket's
 * reader starts after the same cursor, which is exact: a key lives in one bucket only, so "after
 * (score, key)" means the same in all of them. Batches are read per bucket as its buffer runs dry
 * and loaded by `load` (one pipeline per batch), so a page reads about its own size in entries.
 */
export class MergedReader<T> {
	private readonly buffers: Array<Array<MergedEntry<T>>>;
	private readonly done: boolean[];

	constructor(
		private readonly readers: IndexReader[],
		private readonly batchSize: number,
		private readonly load: (source: number, entries: ListCursor[]) => Promise<T[]>,
	) {
		this.buffers = readers.map(() => []);
		this.done = readers.map(() => false);
	}

	private async refill(source: number): Promise<void> {
		const batch = await this.readers[source].next(this.batchSize);
		const loaded = batch.entries.length > 0 ? await this.load(source, batch.entries) : [];
		this.buffers[source].push(...batch.entries.map((entry, i) => ({ entry, source, loaded: loaded[i] })));
		if (batch.done) this.done[source] = true;
	}

	/** The next entry in the merged order, or null when every bucket is read to its end. */
	async next(): Promise<MergedEntry<T> | null> {
		for (;;) {
			const dry = this.readers.map((_, i) => i).filter((i) => this.buffers[i].length === 0 && !this.done[i]);
			if (dry.length === 0) break;
			await Promise.all(dry.map((i) => this.refill(i)));
		}
		let best = -1;
		for (let i = 0; i < this.buffers.length; i++) {
			if (this.buffers[i].length === 0) continue;
			if (best === -1 || compareEntries(this.buffers[i][0].entry, this.buffers[best][0].entry) < 0) best = i;
		}
		return best === -1 ? null : (this.buffers[best].shift() as MergedEntry<T>);
	}

	/** Every bucket is read to its end and nothing is left in the buffers. */
	get exhausted(): boolean {
		return this.done.every(Boolean) && this.buffers.every((buffer) => buffer.length === 0);
	}
}
