// Store level (part 2 of the bench): per store, the Guard's claims against the raw ceiling of
// the same server, side by side in every run — fresh keys, the all-duplicates path, markProcessed,
// and single-item claim latency. Each run starts from an empty namespace; the two contenders
// take turns going first.

import { chunks, figure, nowMs, quantile, ratioFigure, timed, turnOrder, type Figure } from './measure';
import type { Comparison, Footprint, StoreName, SuiteResult } from './results';
import { emptyResult } from './results';
import { freshKeys, type Contender } from './workload';

export interface StoreLevelSubject {
	store: StoreName;
	guard: Contender;
	raw: Contender;
	/** What the raw side does, in one line each, for the report. */
	rawLabels: { claim: string; reclaim: string; markProcessed: string; single: string };
	/** Empties the namespace and the raw table / keys. */
	reset(): Promise<void>;
	/** Bytes per key of what the Guard and Ledger wrote (sampleKeys are some of those keys). */
	footprint(sampleKeys: string[]): Promise<Footprint>;
}

export interface StoreLevelOptions {
	keys: number;
	runs: number;
	chunk: number;
	singles: number;
	log: (line: string) => void;
}

const collectGarbage = (): void => (global as { gc?: () => void }).gc?.();

type Side = 'guard' | 'raw';

export async function runStoreLevel(subject: StoreLevelSubject, options: StoreLevelOptions): Promise<SuiteResult> {
	const result = emptyResult();
	const { keys: n, runs, chunk } = options;
	const rates = {
		fresh: { guard: [] as number[], raw: [] as number[] },
		duplicate: { guard: [] as number[], raw: [] as number[] },
		markProcessed: { guard: [] as number[], raw: [] as number[] },
	};
	const latency = { p50: { guard: [] as number[], raw: [] as number[] }, p99: { guard: [] as number[], raw: [] as number[] } };

	const contender = (side: Side) => (side === 'guard' ? subject.guard : subject.raw);
	const perSecond = (ms: number) => (n / ms) * 1000;

	await warmUp(subject, chunk);
	for (let run = 0; run < runs; run++) {
		const keys: Record<Side, string[]> = { guard: freshKeys(n), raw: freshKeys(n) };
		const tokens: Record<Side, string[] | null> = { guard: [], raw: [] };
		const order = turnOrder(run, 'guard' as Side, 'raw' as Side);

		for (const side of order) {
			collectGarbage();
			const taken: string[] = [];
			const ms = await timed(async () => {
				for (const part of chunks(keys[side], chunk)) {
					const got = await contender(side).claim(part);
					if (got) taken.push(...got);
				}
			});
			tokens[side] = taken.length ? taken : null;
			rates.fresh[side].push(perSecond(ms));
		}
		for (const side of order) {
			collectGarbage();
			const ms = await timed(async () => {
				const parts = chunks(keys[side], chunk);
				const tokenParts = tokens[side] ? chunks(tokens[side], chunk) : null;
				for (let i = 0; i < parts.length; i++) await contender(side).markProcessed(parts[i], tokenParts ? tokenParts[i] : null);
			});
			rates.markProcessed[side].push(perSecond(ms));
		}
		for (const side of order) {
			collectGarbage();
			const ms = await timed(async () => {
				for (const part of chunks(keys[side], chunk)) await contender(side).reclaim(part);
			});
			rates.duplicate[side].push(perSecond(ms));
		}
		if (run === 0) result.footprints.push(await subject.footprint(keys.guard.slice(0, 500)));

		const singles = await singleClaims(subject, options.singles, run);
		for (const side of ['guard', 'raw'] as Side[]) {
			const sorted = singles[side].sort((a, b) => a - b);
			latency.p50[side].push(quantile(sorted, 0.5));
			latency.p99[side].push(quantile(sorted, 0.99));
		}
		await subject.reset();
		options.log(
			`    run ${run + 1}/${runs}: claims/s fresh ${fmt(rates.fresh.guard[run])} vs ${fmt(rates.fresh.raw[run])}` +
				`, duplicate ${fmt(rates.duplicate.guard[run])} vs ${fmt(rates.duplicate.raw[run])}` +
				`, markProcessed ${fmt(rates.markProcessed.guard[run])} vs ${fmt(rates.markProcessed.raw[run])}` +
				`; single p50 ${latency.p50.guard[run].toFixed(3)} vs ${latency.p50.raw[run].toFixed(3)} ms`,
		);
	}

	const detail = `${fmt(n)} keys per run, chunks of ${chunk}`;
	const throughput = (name: string, rawLabel: string, pair: { guard: number[]; raw: number[] }): Comparison => {
		const guard = figure(pair.guard);
		const reference = figure(pair.raw);
		return {
			section: 'throughput',
			store: subject.store,
			name,
			unit: 'keys/s',
			guard,
			reference,
			referenceLabel: rawLabel,
			ratio: ratioFigure(guard, reference),
			target: { kind: 'min', value: 0.5 },
			detail,
		};
	};
	result.comparisons.push(
		throughput('fresh claims', subject.rawLabels.claim, rates.fresh),
		throughput('duplicate claims (all keys processed)', subject.rawLabels.reclaim, rates.duplicate),
		throughput('markProcessed', subject.rawLabels.markProcessed, rates.markProcessed),
	);
	for (const [name, pair] of [
		['single-item claim p50', latency.p50],
		['single-item claim p99', latency.p99],
	] as Array<[string, { guard: number[]; raw: number[] }]>) {
		const guard: Figure = figure(pair.guard);
		const reference: Figure = figure(pair.raw);
		result.comparisons.push({
			section: 'latency',
			store: subject.store,
			name,
			unit: 'ms',
			guard,
			reference,
			referenceLabel: subject.rawLabels.single,
			ratio: ratioFigure(guard, reference),
			target: { kind: 'max', value: 2 },
			detail: `${options.singles} sequential one-key claims per side per run, interleaved`,
		});
	}
	return result;
}

/** A short pass of every operation, so the first measured run does not pay for connections and script loading. */
async function warmUp(subject: StoreLevelSubject, chunk: number): Promise<void> {
	for (const side of [subject.guard, subject.raw]) {
		const keys = freshKeys(chunk * 2);
		const tokens: string[] = [];
		for (const part of chunks(keys, chunk)) tokens.push(...((await side.claim(part)) ?? []));
		const tokenParts = tokens.length ? chunks(tokens, chunk) : null;
		const parts = chunks(keys, chunk);
		for (let i = 0; i < parts.length; i++) await side.markProcessed(parts[i], tokenParts ? tokenParts[i] : null);
		for (const part of parts) await side.reclaim(part);
		for (const key of freshKeys(50)) await side.claimOne(key);
	}
	await subject.reset();
}

async function singleClaims(subject: StoreLevelSubject, count: number, run: number): Promise<Record<Side, number[]>> {
	const keys: Record<Side, string[]> = { guard: freshKeys(count), raw: freshKeys(count) };
	const times: Record<Side, number[]> = { guard: [], raw: [] };
	collectGarbage();
	for (let i = 0; i < count; i++) {
		for (const side of turnOrder(run + i, 'guard' as Side, 'raw' as Side)) {
			const start = nowMs();
			await (side === 'guard' ? subject.guard : subject.raw).claimOne(keys[side][i]);
			times[side].push(nowMs() - start);
		}
	}
	return times;
}

export function fmt(value: number): string {
	if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 0 : 1)}M`;
	if (value >= 1e4) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)}k`;
	if (value >= 100 || Number.isInteger(value)) return value.toFixed(0);
	return value.toPrecision(3);
}
