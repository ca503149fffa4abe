// Scale (part 3 of the bench): what one claim costs as the store fills up. Keys are preloaded
// in the store's own layout up to each size in turn; at each size the Guard claims chunks of
// fresh keys and re-claims chunks of preloaded (processed) keys, and the footprint is read from
// the store itself.

import { randomInt } from 'crypto';
import { chunks, figure, quantile, ratioFigure, timed } from './measure';
import type { Footprint, StoreName, SuiteResult } from './results';
import { emptyResult } from './results';
import { fmt } from './storeLevel';
import { freshKeys, type Contender } from './workload';

export interface ScaleSubject {
	store: StoreName;
	guard: Contender;
	/** Adds preloaded (processed) records number `from` … `to - 1`; returns how it went, for the notes. */
	preload(from: number, to: number): Promise<string>;
	preloadedKey(i: number): string;
	footprint(stored: number, sampleKeys: string[]): Promise<Footprint>;
	/**
	 * Server counters (e.g. WAL bytes, blocks read) read before and after the measured chunks of a
	 * size; their growth per claim goes into the notes, to say where a growing cost comes from.
	 */
	counters?(): Promise<Record<string, number>>;
}

export interface ScaleOptions {
	sizes: number[];
	runs: number;
	chunksPerRun: number;
	chunk: number;
	log: (line: string) => void;
}

const collectGarbage = (): void => (global as { gc?: () => void }).gc?.();

export async function runScale(subject: ScaleSubject, options: ScaleOptions): Promise<SuiteResult> {
	const result = emptyResult();
	const { runs, chunk, chunksPerRun } = options;
	const costs: Array<{ size: number; fresh: number[]; duplicate: number[] }> = [];
	let loaded = 0;
	for (const size of options.sizes) {
		const how = await subject.preload(loaded, size);
		loaded = size;
		result.notes.push(`${subject.store}: ${how}`);
		options.log(`    ${how}`);
		const sample = Array.from({ length: 300 }, () => subject.preloadedKey(randomInt(size)));
		result.footprints.push(await subject.footprint(size, sample));

		// A fresh chunk per size first, so that caches are as warm at every size.
		await subject.guard.claim(freshKeys(chunk));
		const fresh: number[] = [];
		const duplicate: number[] = [];
		const before = await subject.counters?.();
		for (let run = 0; run < runs; run++) {
			const freshMs: number[] = [];
			const duplicateMs: number[] = [];
			const freshParts = chunks(freshKeys(chunk * chunksPerRun), chunk);
			for (let c = 0; c < chunksPerRun; c++) {
				const again = distinctOrdinals(size, chunk).map((i) => subject.preloadedKey(i));
				collectGarbage();
				// Alternate which goes first, as everywhere.
				if ((run + c) % 2 === 0) {
					freshMs.push(await timed(() => subject.guard.claim(freshParts[c])));
					duplicateMs.push(await timed(() => subject.guard.reclaim(again)));
				} else {
					duplicateMs.push(await timed(() => subject.guard.reclaim(again)));
					freshMs.push(await timed(() => subject.guard.claim(freshParts[c])));
				}
			}
			// ms per chunk of 1000 = µs per claim
			fresh.push((quantile([...freshMs].sort((a, b) => a - b), 0.5) * 1000) / chunk);
			duplicate.push((quantile([...duplicateMs].sort((a, b) => a - b), 0.5) * 1000) / chunk);
		}
		costs.push({ size, fresh, duplicate });
		if (before && subject.counters) {
			// Statistics reach the shared counters within a second of the statements that made them.
			await new Promise((resolve) => setTimeout(resolve, 1500));
			const after = await subject.counters();
			const claims = runs * chunksPerRun * chunk * 2;
			const per = Object.entries(after)
				.map(([name, value]) => `${((value - (before[name] ?? 0)) / claims).toFixed(name.includes('bytes') ? 0 : 2)} ${name}`)
				.join(', ');
			result.notes.push(`${subject.store} at ${fmt(size)} stored, per claim measured (fresh and duplicate alike): ${per}`);
			options.log(`    per claim: ${per}`);
		}
		options.log(
			`    ${fmt(size)} stored: fresh ${figure(fresh).median.toFixed(1)} µs/claim, duplicate ${figure(duplicate).median.toFixed(1)} µs/claim`,
		);
	}

	const base = costs[0];
	for (const level of costs.slice(1)) {
		for (const [path, pick] of [
			['fresh claims', (c: (typeof costs)[number]) => c.fresh],
			['duplicate claims', (c: (typeof costs)[number]) => c.duplicate],
		] as const) {
			const guard = figure(pick(level));
			const reference = figure(pick(base));
			result.comparisons.push({
				section: 'scale',
				store: subject.store,
				name: `${path} at ${fmt(level.size)} stored`,
				unit: 'µs/claim',
				guard,
				reference,
				referenceLabel: `the same at ${fmt(base.size)} stored`,
				ratio: ratioFigure(guard, reference),
				target: { kind: 'max', value: 1.5 },
				detail: `median chunk of ${chunksPerRun} × ${chunk} keys per run`,
			});
		}
	}
	return result;
}

/** `count` distinct numbers below `size` (a key appears once per chunk, as the Guard sends it). */
function distinctOrdinals(size: number, count: number): number[] {
	const picked = new Set<number>();
	while (picked.size < Math.min(count, size)) picked.add(randomInt(size));
	return [...picked];
}
