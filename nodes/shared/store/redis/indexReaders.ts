// Reading the namespace indexes page by page, for list and listOpenExceptions (RedisStore.ts).

import type { Cluster, Redis } from 'ioredis';
import type { ListCursor } from './codec';

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
