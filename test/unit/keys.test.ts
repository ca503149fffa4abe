import {
	buildKeyFromFields,
	buildKeyFromValue,
	DEFAULT_NORMALIZE,
	finishKey,
	isHashedForm,
	legacyKeyOf,
	normalizeText,
	parseFieldList,
	readPath,
	sha256Hex,
	storedKeyOf,
} from '../../nodes/shared/engine/keys';

describe('business keys', () => {
	it('parses a comma-separated field list, ignoring blanks and spaces', () => {
		expect(parseFieldList(' body.email , body.source,,  id ')).toEqual(['body.email', 'body.source', 'id']);
		expect(parseFieldList(' , ')).toEqual([]);
	});

	it('reads dot paths and list indices', () => {
		const json = { body: { email: 'a@b.c', lines: [{ sku: 'X1' }] }, 'odd key': 1 };
		expect(readPath(json, 'body.email')).toBe('a@b.c');
		expect(readPath(json, 'body.lines[0].sku')).toBe('X1');
		expect(readPath(json, 'body.missing.deeper')).toBeUndefined();
		expect(readPath(json, 'odd key')).toBe(1);
	});

	it('normalises by default with NFKC, collapsed whitespace and trim, but keeps case', () => {
		expect(normalizeText('  Jane\t\u00a0Doe ﬁ  ', DEFAULT_NORMALIZE)).toBe('Jane Doe fi');
		expect(normalizeText(' Jane@X.com ', ['trim', 'lowercase'])).toBe('jane@x.com');
		expect(normalizeText(' a  b ', [])).toBe(' a  b ');
	});

	it('builds one key from several fields, the same for equivalent deliveries', () => {
		const a = buildKeyFromFields({ body: { email: ' Jane@X.com', source: 'form', id: 7 } }, ['body.email', 'body.source', 'body.id'], [...DEFAULT_NORMALIZE, 'lowercase'], false);
		const b = buildKeyFromFields({ body: { email: 'jane@x.com ', source: 'form', id: 7.0 } }, ['body.email', 'body.source', 'body.id'], [...DEFAULT_NORMALIZE, 'lowercase'], false);
		expect(a).toEqual({ ok: true, key: 'jane@x.com|form|7' });
		expect(b).toEqual(a);
	});

	it('keeps parts apart that contain the separator', () => {
		const one = buildKeyFromFields({ a: 'x|y', b: 'z' }, ['a', 'b'], [], false);
		const two = buildKeyFromFields({ a: 'x', b: 'y|z' }, ['a', 'b'], [], false);
		expect(one.ok && two.ok && one.key !== two.key).toBe(true);
		const slash = buildKeyFromFields({ a: 'x\\', b: '|z' }, ['a', 'b'], [], false);
		expect(slash.ok && one.ok && slash.key !== one.key).toBe(true);
	});

	it('writes numbers canonically', () => {
		expect(buildKeyFromFields({ n: 1.5 }, ['n'], [], false)).toEqual({ ok: true, key: '1.5' });
		expect(buildKeyFromFields({ n: -0 }, ['n'], [], false)).toEqual({ ok: true, key: '0' });
		expect(buildKeyFromFields({ n: 1e21 }, ['n'], [], false)).toEqual({ ok: true, key: '1e+21' });
		expect(buildKeyFromFields({ n: true }, ['n'], [], false)).toEqual({ ok: true, key: 'true' });
	});

	it.each([
		[{ email: null }, 'field "email" is missing'],
		[{}, 'field "email" is missing'],
		[{ email: '' }, 'field "email" is empty'],
		[{ email: '   ' }, 'field "email" is empty'],
		[{ email: { a: 1 } }, 'field "email" is an object'],
		[{ email: ['a'] }, 'field "email" is a list'],
		[{ email: Number.NaN }, 'field "email" is not a finite number'],
	])('treats %j as a missing key', (json, problem) => {
		const result = buildKeyFromFields(json, ['email'], DEFAULT_NORMALIZE, false);
		expect(result.ok).toBe(false);
		expect(!result.ok && result.problem).toContain(problem);
	});

	it('names every missing field of a composite key', () => {
		const result = buildKeyFromFields({ a: 'x' }, ['a', 'b', 'c'], [], false);
		expect(result).toEqual({ ok: false, problem: 'field "b" is missing; field "c" is missing' });
	});

	it('hashes keys over 256 characters, and every key with hashKeys', () => {
		expect(finishKey('k'.repeat(256), false)).toBe('k'.repeat(256));
		expect(finishKey('k'.repeat(257), false)).toBe(`sha256:${sha256Hex('k'.repeat(257))}`);
		expect(finishKey('jane@x.com', true)).toBe(`sha256:${sha256Hex('jane@x.com')}`);
		expect(finishKey('jane@x.com', true)).toMatch(/^sha256:[0-9a-f]{64}$/);
	});

	it('hashes keys a store cannot hold as text, without collisions between them', () => {
		const nul = finishKey('a\u0000b', false);
		const lone1 = finishKey('a\ud800b', false);
		const lone2 = finishKey('a\ud801b', false);
		expect(nul).toMatch(/^sha256:/);
		expect(new Set([nul, lone1, lone2]).size).toBe(3);
		expect(finishKey('emoji 🧾', false)).toBe('emoji 🧾');
	});

	it('builds a key from an expression value the same way', () => {
		expect(buildKeyFromValue('  INV-1 ', DEFAULT_NORMALIZE, false)).toEqual({ ok: true, key: 'INV-1' });
		expect(buildKeyFromValue(42, DEFAULT_NORMALIZE, false)).toEqual({ ok: true, key: '42' });
		expect(buildKeyFromValue(undefined, DEFAULT_NORMALIZE, false)).toEqual({ ok: false, problem: 'the key expression is missing' });
	});

	describe('a plain key that looks like a hashed key', () => {
		const hashed = finishKey('k'.repeat(300), false);

		it('is hashed itself, so no stored plain key can equal a hashed key', () => {
			expect(isHashedForm(hashed)).toBe(true);
			expect(finishKey(hashed, false)).toBe(`sha256:${sha256Hex(hashed)}`);
			expect(finishKey(hashed, false)).not.toBe(hashed);
			expect(buildKeyFromValue(hashed, DEFAULT_NORMALIZE, false)).toEqual({ ok: true, key: `sha256:${sha256Hex(hashed)}`, legacyKey: hashed });
			expect(buildKeyFromFields({ id: hashed }, ['id'], DEFAULT_NORMALIZE, false)).toMatchObject({ key: `sha256:${sha256Hex(hashed)}`, legacyKey: hashed });
		});

		it('changes nothing for keys that only resemble it: other prefixes, lengths or digits stay as they were', () => {
			for (const key of ['sha256:abc', `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `SHA256:${'a'.repeat(64)}`, `x${hashed}`]) {
				expect({ key, stored: finishKey(key, false), legacy: legacyKeyOf(key, false) }).toEqual({ key, stored: key, legacy: null });
			}
		});

		it('with hashKeys has no earlier form: it was hashed before too', () => {
			expect(legacyKeyOf(hashed, true)).toBeNull();
			expect(buildKeyFromValue(hashed, DEFAULT_NORMALIZE, true)).toEqual({ ok: true, key: `sha256:${sha256Hex(hashed)}` });
		});
	});

	describe('an explicit key (Ledger, Router)', () => {
		it('is taken as written: no trimming, no normalising', () => {
			expect(storedKeyOf(' abc')).toBe(' abc');
			expect(storedKeyOf('a  b\t')).toBe('a  b\t');
			expect(storedKeyOf('ﬁ')).toBe('ﬁ');
		});

		it('addresses the key the Guard stored, hashed or not', () => {
			const long = 'k'.repeat(300);
			const stored = buildKeyFromValue(long, DEFAULT_NORMALIZE, false);
			expect(stored.ok && storedKeyOf(stored.key)).toBe(finishKey(long, false));
			expect(storedKeyOf(long)).toBe(finishKey(long, false));
			expect(storedKeyOf('a\u0000b')).toBe(finishKey('a\u0000b', false));
			const hashedForm = buildKeyFromValue(finishKey(long, false), DEFAULT_NORMALIZE, false);
			expect(hashedForm.ok && storedKeyOf(hashedForm.key)).toBe(hashedForm.ok && hashedForm.key);
		});
	});
});
