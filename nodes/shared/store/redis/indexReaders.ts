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
	/** Keys whose index entry outlived the record (Redis expired it): to forget. */
	gone: string[];
	lastScanned: ListCursor | null;
	/** The reader has no entries beyond those scanned. */
	exhausted: boolean;
}

/**
 * Reads records in the reader's order, one pipeline per batch, until limit + 1 are wanted, the
 * index ends, or LIST_SCAN_BUDGET entries were looked at.
 */
export async function scanRecords(
	client: Redis | Cluster,
	reader: KeyOrderReader | ScoreOrderReader,
	recordKey: (key: string) => string,
	namespace: string,
	wanted: (record: KeyRecord) => boolean,
	limit: number,
	cursor: ListCursor | null,
): Promise<RecordScan> {
	const scan: RecordScan = { found: [], gone: [], lastScanned: cursor, exhausted: false };
	let scanned = 0;
	while (scanned < LIST_SCAN_BUDGET) {
		const batch = await reader.next(Math.min(500, Math.max(limit + 1, 100), LIST_SCAN_BUDGET - scanned));
		const pipeline = client.pipeline();
		for (const entry of batch.entries) pipeline.hgetall(recordKey(entry.key));
		const hashes = batch.entries.length ? await execPipeline(pipeline) : [];
		for (let i = 0; i < batch.entries.length; i++) {
			const entry = batch.entries[i];
			scanned++;
			scan.lastScanned = entry;
			const record = toRecord(namespace, entry.key, hashes[i] as Record<string, string>);
			if (record === null) {
				scan.gone.push(entry.key);
			} else if (wanted(record)) {
				scan.found.push({ record, at: entry });
				if (scan.found.length > limit) return scan;
			}
		}
		if (batch.done) {
			scan.exhausted = true;
			return scan;
		}
	}
	return scan;
}
