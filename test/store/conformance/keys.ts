// Keys and namespaces on every store: hostile text is stored and decided literally, namespaces
// that differ only in braces or separators stay apart, no key reaches another key's record, and a
// result with every JSON escape comes back as it went in.

import { finishKey } from '../../../nodes/shared/engine/keys';
import { actor, basePolicy, transitionRequest, useStore, type FixtureFactory } from './fixture';

/** Namespaces that a naive key layout or query would mix up with one another. */
export const HOSTILE_NAMESPACES = [
	'a}b',
	'}',
	'{',
	'{}',
	'{x}',
	`"'\``,
	'%s%d%%',
	'[.*+?^$()]',
	'a:r:b',
	'~YX0',
	'ns with spaces',
	'ñ 日本 🧾',
	'x'.repeat(200),
];

export function describeKeyConformance(name: string, open: FixtureFactory): void {
	describe(`${name}: keys and namespaces`, () => {
		const s = useStore(open, 'keys');
		const T0 = Date.now();

		const hostile = [
			`'; DROP TABLE records; --`,
			`" OR 1=1 --`,
			`$1 $$ $fn$`,
			`]] .. redis.call('FLUSHALL') .. [[`,
			`{tag}:r:other`,
			`%s %d \\n \\x00`,
			`key with "quotes" and 'apostrophes' and \\backslashes\\`,
			'emoji 🧾 and 中文 and NFKC ﬁ',
			'x'.repeat(256),
			finishKey('y'.repeat(10_000), false),
			finishKey('nul\u0000inside', false),
		];
		it.each(hostile.map((key) => [key.slice(0, 40), key]))('stores and decides %j literally', async (_label, key) => {
			const weird = `ns '"]]{}\\ ${s.ns}`;
			const [first] = await s.store.claim(weird, [{ key, fingerprint: null }], basePolicy, actor, T0);
			expect(first).toMatchObject({ key, outcome: 'new' });
			const [second] = await s.store.claim(weird, [{ key, fingerprint: null }], basePolicy, actor, T0 + 1);
			expect(second).toMatchObject({ key, outcome: 'ambiguous', reason: 'in_progress' });
			expect((await s.store.get(weird, key))?.key).toBe(key);
			expect(await s.store.get(weird, `${key}x`)).toBeNull();
		});

		it('keeps namespaces apart, even ones that differ only in braces or separators', async () => {
			const names = [s.ns, `${s.ns}}`, `{${s.ns}`, `${s.ns}:r`, `${s.ns}:r:x`];
			for (const namespace of names) {
				const [d] = await s.store.claim(namespace, [{ key: 'x', fingerprint: null }], basePolicy, actor, T0);
				expect({ namespace, outcome: d.outcome }).toEqual({ namespace, outcome: 'new' });
			}
			const [again] = await s.store.claim(`${s.ns}:r`, [{ key: 'x', fingerprint: null }], basePolicy, actor, T0 + 1);
			expect(again.outcome).toBe('ambiguous');
		});

		it('keeps hostile namespaces apart from each other', async () => {
			const token = s.ns;
			const names = [...HOSTILE_NAMESPACES.map((n) => `${n}${token}`), `a}${token}`, `~${Buffer.from(`a}${token}`).toString('base64url')}`];
			for (const namespace of names) {
				const [d] = await s.store.claim(namespace, [{ key: 'same', fingerprint: null }], basePolicy, actor, T0);
				expect({ namespace, outcome: d.outcome }).toEqual({ namespace, outcome: 'new' });
			}
		});

		it('stores keys verbatim, so that no key reaches another key’s record', async () => {
			const keys = ['a', 'a:h:a', ':r:a', 'r:a', '}', '{', '"', "'", '\\', '\n', '', ' ', '%', ']]', 'a'.repeat(300)];
			const decisions = await s.store.claim(s.ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0);
			expect(decisions.map((d) => d.outcome)).toEqual(keys.map(() => 'new'));
			await s.store.transition(s.ns, decisions.map((d, i) => transitionRequest('markProcessed', d.key, d.claimToken, { resultJson: JSON.stringify({ i }) })), actor, T0 + 1);
			const again = await s.store.claim(s.ns, keys.map((key) => ({ key, fingerprint: null })), basePolicy, actor, T0 + 2);
			expect(again.map((d) => d.result)).toEqual(keys.map((_, i) => ({ i })));
			for (const key of keys) {
				expect({ key, events: (await s.store.history(s.ns, key)).map((h) => h.event) }).toEqual({ key, events: ['claimed', 'processed', 'duplicate_seen'] });
			}
			const listed: string[] = [];
			let cursor: string | null = null;
			do {
				const page = await s.store.list(s.ns, { limit: 3, cursor }, T0 + 3);
				listed.push(...page.records.map((r) => r.key));
				cursor = page.nextCursor;
			} while (cursor);
			expect(listed.sort()).toEqual([...keys].sort());
		});

		it('gives back a result with every JSON escape as it was stored', async () => {
			const result = JSON.stringify({ s: '"\\/\b\f\n\r\t\u2028 ünïcødé 🧾', n: [1.5, -0, 1e21], nested: { a: null, list: [] } });
			const d = await s.claimOne('k', T0);
			await s.transitionOne(transitionRequest('markProcessed', 'k', d.claimToken, { resultJson: result }), T0 + 1);
			expect((await s.claimOne('k', T0 + 2)).result).toEqual(JSON.parse(result));
			expect((await s.store.get(s.ns, 'k'))?.result).toEqual(JSON.parse(result));
		});
	});
}
