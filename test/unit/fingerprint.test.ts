import { canonicalJson, fingerprintFields, fingerprintItem } from '../../nodes/shared/engine/fingerprint';
import { sha256Hex } from '../../nodes/shared/engine/keys';

describe('fingerprints', () => {
	it('writes canonical JSON with sorted keys at every depth and no undefined', () => {
		expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
		expect(canonicalJson([undefined, null])).toBe('[null,null]');
		expect(canonicalJson('x"y')).toBe('"x\\"y"');
	});

	it('ignores key order and the Guard metadata on the whole item', () => {
		const a = fingerprintItem({ amount: 10, currency: 'EUR' });
		const b = fingerprintItem({ currency: 'EUR', amount: 10, _idempotency: { key: 'k' } });
		expect(a).toBe(b);
		expect(a).toBe(sha256Hex('{"amount":10,"currency":"EUR"}'));
		expect(fingerprintItem({ amount: 11, currency: 'EUR' })).not.toBe(a);
	});

	it('fingerprints only the selected fields, a missing one as null', () => {
		const a = fingerprintFields({ body: { amount: 10, currency: 'EUR', note: 'x' } }, ['body.amount', 'body.currency']);
		const b = fingerprintFields({ body: { amount: 10, currency: 'EUR', note: 'y' } }, ['body.amount', 'body.currency']);
		expect(a).toBe(b);
		expect(fingerprintFields({ body: { amount: 10 } }, ['body.amount', 'body.currency'])).toBe(
			sha256Hex('{"body.amount":10,"body.currency":null}'),
		);
	});

	it('handles deeply nested payloads', () => {
		let deep: Record<string, unknown> = { leaf: 1 };
		for (let i = 0; i < 500; i++) deep = { next: deep };
		expect(fingerprintItem(deep)).toMatch(/^[0-9a-f]{64}$/);
	});
});
