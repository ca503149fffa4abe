// lua/not_replicated.lua, called directly as RedisStore calls it after a claim's WAIT fell short:
// it moves a claim's `new` count to `ambiguous:not_replicated` only where the key's record is
// still that claim — `processing` with the claim's token. A record another claim took since (a
// promoted replica that never had ours, where another worker then claimed the key: that claim's
// New is real), or that our claim's holder settled since, keeps its count. The failover tests
// (redisWaitFailover.test.ts) only see a record that is missing; here the token itself is checked.

import { randomUUID } from 'crypto';
import { NamespaceKeys } from '../../../nodes/shared/store/redis/keys';
import { scriptsBesideStore } from '../../helpers/redis';
import { claimPolicy, TEST_ACTOR } from '../../helpers/claims';

const policy = claimPolicy();
const actor = TEST_ACTOR;

describe('not_replicated.lua moves only the claim it was called for', () => {
	const { prefix, scripts, store } = scriptsBesideStore('notrepl');

	it('a record claimed by another token, or settled since, keeps its `new`; only the record still holding the token moves', async () => {
		const ns = `ns-${randomUUID()}`;
		const keys = new NamespaceKeys(prefix, ns);
		// other: claimed by someone else (token unknown to us); settled: our claim, processed since; ours: our live claim.
		const decisions = await store.claim(ns, ['other', 'settled', 'ours'].map((key) => ({ key, fingerprint: null })), policy, actor);
		expect(decisions.map((d) => d.outcome)).toEqual(['new', 'new', 'new']);
		const [, settled, ours] = decisions;
		await store.transition(ns, [{ key: 'settled', kind: 'markProcessed', claimToken: settled.claimToken, verifyClaim: true, force: false, resultJson: null, retentionMs: policy.retentionMs }], actor);
		const now = ours.firstSeenAt;
		const move = (key: string, token: string) => scripts.not_replicated([...keys.scriptKeys, keys.record(key)], [now, token]);

		expect(await move('other', randomUUID())).toBe(0);
		expect(await move('settled', settled.claimToken as string)).toBe(0);
		expect(await store.stats(ns, 3_600_000)).toMatchObject({ new: 3, ambiguous: 0 });

		expect(await move('ours', ours.claimToken as string)).toBe(1);
		expect(await store.stats(ns, 3_600_000)).toMatchObject({ new: 2, ambiguous: 1, ambiguousByReason: { not_replicated: 1 } });
	});
});
