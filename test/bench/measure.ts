// How a benchmark figure is made: one value per run, summarised as the median with its spread
// (min–max). A ratio is taken run by run between two values measured side by side in that run,
// then summarised the same way — never as a ratio of two separately taken medians.

export interface Figure {
	median: number;
	min: number;
	max: number;
	/** One value per run, in run order. */
	runs: number[];
}

export function figure(values: number[]): Figure {
	if (values.length === 0) throw new Error('A figure needs at least one run');
	const sorted = [...values].sort((a, b) => a - b);
	return { median: quantile(sorted, 0.5), min: sorted[0], max: sorted[sorted.length - 1], runs: [...values] };
}

/** Quantile of sorted values, linear between neighbours (p in 0..1). */
export function quantile(sorted: readonly number[], p: number): number {
	if (sorted.length === 0) return NaN;
	const at = (sorted.length - 1) * p;
	const low = Math.floor(at);
	const high = Math.ceil(at);
	return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
}

export function ratioFigure(numerators: Figure, denominators: Figure): Figure {
	return figure(numerators.runs.map((value, i) => value / denominators.runs[i]));
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export function nowMs(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}

export async function timed(work: () => Promise<unknown>): Promise<number> {
	const start = nowMs();
	await work();
	return nowMs() - start;
}

/** Which of two contenders goes first in run `run`: they take turns so neither always runs warm. */
export function turnOrder<T>(run: number, first: T, second: T): [T, T] {
	return run % 2 === 0 ? [first, second] : [second, first];
}

export function chunks<T>(list: readonly T[], size: number): T[][] {
	const parts: T[][] = [];
	for (let i = 0; i < list.length; i += size) parts.push(list.slice(i, i + size));
	return parts;
}

export interface Target {
	/** `min`: the ratio must be at least `value`; `max`: at most. */
	kind: 'min' | 'max';
	value: number;
}

export function meets(ratio: number, target: Target): boolean {
	return target.kind === 'min' ? ratio >= target.value : ratio <= target.value;
}

export function describeTarget(target: Target): string {
	return `${target.kind === 'min' ? '≥' : '≤'} ${target.value}`;
}
