import { boundedNumber, RANGES, typeOptionsOf } from '../../nodes/shared/engine/bounds';
import { InvalidInputError } from '../../nodes/shared/store/errors';

describe('bounded numeric options', () => {
	it('gives the fallback when the option is not set, and the value when it is in range', () => {
		expect(boundedNumber('retentionDays', undefined, 30, 0)).toBe(30);
		expect(boundedNumber('retentionDays', '', 30, 0)).toBe(30);
		expect(boundedNumber('retentionDays', 0, 30, 0)).toBe(0);
		expect(boundedNumber('retentionDays', 3650, 30, 0)).toBe(3650);
		expect(boundedNumber('leaseSeconds', '90', 300, 0)).toBe(90);
		expect(boundedNumber('leaseSeconds', 0.5 + 1, 300, 0)).toBe(1.5);
	});

	it.each([
		['retentionDays', 2e11],
		['retentionDays', -1],
		['retentionDays', NaN],
		['retentionDays', 1e308],
		['retentionDays', Infinity],
		['leaseSeconds', 0],
		['leaseSeconds', 'soon'],
		['waitSeconds', 601],
		['maxAttempts', 2.5],
		['maxAttempts', 0],
		['limit', 1001],
		['olderThanMinutes', -5],
		['sinceHours', 1e308],
	] as const)('refuses %s = %p, naming the item, the parameter and the range', (name, value) => {
		const range = RANGES[name];
		let thrown: unknown;
		try {
			boundedNumber(name, value, 1, 7);
		} catch (error) {
			thrown = error;
		}
		expect(thrown).toBeInstanceOf(InvalidInputError);
		const message = (thrown as Error).message;
		expect(message).toContain('Item 7: ');
		expect(message).toContain(range.label);
		expect(message).toContain(`from ${range.min} to ${range.max}`);
		expect((thrown as InvalidInputError).hint).toContain(range.label);
	});

	it('gives the editor the same range', () => {
		expect(typeOptionsOf('limit')).toEqual({ minValue: 1, maxValue: 1000 });
		for (const [name, range] of Object.entries(RANGES)) {
			expect(range.max).toBeGreaterThan(range.min);
			expect(typeOptionsOf(name as keyof typeof RANGES)).toEqual({ minValue: range.min, maxValue: range.max });
		}
	});
});
