// The allowed range of every numeric option of the three nodes, in one place: the descriptions
// show it to the editor (typeOptions minValue / maxValue) and the nodes check it at execution,
// because an expression can give any value the editor never saw (2e11 days, -1, NaN, 1e308).
// A value outside its range is refused before the store is touched. Pure.

import { InvalidInputError } from '../store/errors';

export interface NumberRange {
	/** As the editor shows the parameter. */
	label: string;
	min: number;
	max: number;
	/** Only whole numbers. */
	integer?: boolean;
}

const DAY_MINUTES = 24 * 60;
const YEAR_DAYS = 365;

export const RANGES = {
	// 30 days: a claim held longer than that is stuck, not working.
	leaseSeconds: { label: 'Lease (Seconds)', min: 1, max: 30 * 86_400 },
	// 10 years; 0 = forever.
	retentionDays: { label: 'Retention (Days)', min: 0, max: 10 * YEAR_DAYS },
	// An execution that waits longer than 10 minutes for another one holds a worker for nothing.
	waitSeconds: { label: 'Wait (Seconds)', min: 1, max: 600 },
	maxAttempts: { label: 'Max Attempts', min: 1, max: 1000, integer: true },
	olderThanMinutes: { label: 'Older Than (Minutes)', min: 0, max: 10 * YEAR_DAYS * DAY_MINUTES },
	limit: { label: 'Limit', min: 1, max: 1000, integer: true },
	sinceHours: { label: 'Since (Hours)', min: 0, max: 10 * YEAR_DAYS * 24 },
	// How long a write may land after its claim ended, or a search index lag: a week is a broken system.
	settleSeconds: { label: 'Settle Delay (Seconds)', min: 0, max: 7 * 86_400 },
} as const satisfies Record<string, NumberRange>;

export type BoundedOption = keyof typeof RANGES;

/** For a description: `typeOptions: typeOptionsOf('limit')`. */
export function typeOptionsOf(name: BoundedOption): { minValue: number; maxValue: number } {
	return { minValue: RANGES[name].min, maxValue: RANGES[name].max };
}

/**
 * The option's value, or `fallback` when it is not set; anything that is not a number in the
 * range is refused with the item, the parameter and the range in the message.
 */
export function boundedNumber(name: BoundedOption, value: unknown, fallback: number, itemIndex: number): number {
	const range: NumberRange = RANGES[name];
	if (value === undefined || value === null || value === '') return fallback;
	const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
	if (!Number.isFinite(n) || n < range.min || n > range.max || (range.integer === true && !Number.isInteger(n))) {
		const kind = range.integer ? 'a whole number' : 'a number';
		throw new InvalidInputError(
			`Item ${itemIndex}: ${range.label} must be ${kind} from ${range.min} to ${range.max}, got ${describe(value)}`,
			`Set ${range.label} to ${kind} from ${range.min} to ${range.max}; when it comes from an expression, check what the expression gives for this item.`,
		);
	}
	return n;
}

function describe(value: unknown): string {
	if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
	if (typeof value === 'number') return String(value);
	return typeof value === 'object' ? 'an object' : String(value);
}
