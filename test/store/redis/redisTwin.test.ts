// The Redis exception queue and its effect on keys, step by step against the Postgres store (the
// reference the Redis scripts follow): same requests, same clock, same answers. Ids and claim
// tokens differ by design and are compared through the pairs the two stores hand out.

import { randomUUID } from 'crypto';
import type { PostgresStore } from '../../../nodes/shared/store/postgres/PostgresStore';
import { RedisStore } from '../../../nodes/shared/store/redis/RedisStore';
import type { Actor, ClaimPolicy, ExceptionRecord, HistoryEntry, KeyRecord, OpenExceptionRequest, ResolveExceptionRequest } from '../../../nodes/shared/store/types';
import { dropSchema, postgresTestStore, uniqueSchema } from '../../helpers/postgres';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../../helpers/redis';

const prefix = uniquePrefix('redis_twin');
const url = new URL(REDIS_URL);
const openStore = () => new RedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone', allowNoPersistence: true });
const actor0: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };

afterAll(async () => {
	await deletePrefix(prefix);
});

describe('Redis exception queue agrees with Postgres', () => {
	const schema = uniqueSchema('redis_twin');
	let redis: RedisStore;
	let postgres: PostgresStore;
	beforeAll(() => {
		redis = openStore();
		postgres = postgresTestStore(schema, 2);
	});
	afterAll(async () => {
		await redis.close();
		await postgres.close();
		await dropSchema(schema);
	});

	it('records, resolves, lists and counts 250 random steps like the Postgres store', async () => {
		let seed = 7;
		const rand = () => {
			seed = (seed * 1103515245 + 12345) % 2147483648;
			return seed / 2147483648;
		};
		const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
		const ns = `twin-${randomUUID()}`;
		const keys = ['a', 'b', 'c'];
		const MINUTE = 60_000;
		const policy: ClaimPolicy = { leaseMs: MINUTE, retentionMs: 10 * MINUTE, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' };
		// Postgres id <-> Redis id, in the order both stores first showed them.
		const redisIdOf = new Map<string, string>();
		const postgresIdOf = new Map<string, string>();
		const pair = (fromPostgres: ExceptionRecord[], fromRedis: ExceptionRecord[]) => {
			fromPostgres.forEach((e, i) => {
				const r = fromRedis[i];
				if (!r || redisIdOf.has(e.id) || postgresIdOf.has(r.id)) return;
				redisIdOf.set(e.id, r.id);
				postgresIdOf.set(r.id, e.id);
			});
		};
		const asPostgres = (e: ExceptionRecord) => ({ ...e, id: postgresIdOf.get(e.id) ?? `unpaired ${e.id}` });
		const recordView = (r: KeyRecord | null) => r && { ...r, claimToken: r.claimToken !== null };
		// Consecutive duplicates as one run on both sides, whether or not the store keeps them so.
		const historyView = (entries: HistoryEntry[], idOf: (id: string) => string) =>
			entries.reduce<HistoryEntry[]>((view, entry) => {
				const ids = entry.detail?.exceptionIds as string[] | undefined;
				const h = ids ? { ...entry, detail: { ...entry.detail, exceptionIds: ids.map(idOf).sort() } } : entry;
				const last = view[view.length - 1];
				if (h.event !== 'duplicate_seen') view.push(h);
				else if (last?.event === 'duplicate_seen') view[view.length - 1] = { ...last, lastAt: h.lastAt ?? h.at, count: (last.count ?? 1) + (h.count ?? 1) };
				else view.push({ ...h, lastAt: h.lastAt ?? h.at, count: h.count ?? 1 });
				return view;
			}, []);
		const tokens = { redis: new Map<string, string | null>(), postgres: new Map<string, string | null>() };
		let now = 1_700_000_000_000;
		const expectSameKey = async (step: number | string, op: string, k: string) => {
			expect({ step, op, k, record: recordView(await redis.get(ns, k)) }).toEqual({ step, op, k, record: recordView(await postgres.get(ns, k)) });
			const rh = historyView(await redis.history(ns, k), (id) => postgresIdOf.get(id) ?? id);
			const ph = historyView(await postgres.history(ns, k), (id) => id);
			expect({ step, op, k, history: rh }).toEqual({ step, op, k, history: ph });
		};

		for (let step = 0; step < 250; step++) {
			const touched: string[] = [];
			now += pick([1, 1, 1000, MINUTE, 11 * MINUTE]); // every exception opens at its own ms
			const key = pick(keys);
			const roll = rand();
			let op: string;
			if (roll < 0.25) {
				op = 'claim';
				const fingerprint = pick([null, 'x', 'y']);
				const p = { ...policy, onLeaseExpired: pick(['ambiguous', 'reclaim'] as const) };
				const [pd] = await postgres.claim(ns, [{ key, fingerprint }], p, actor0, now);
				const [rd] = await redis.claim(ns, [{ key, fingerprint }], p, actor0, now);
				// The prior record is each store's own image: compare whether there is one.
				const priorOf = (d: typeof pd) => (d.prior === undefined ? 'absent' : d.prior === null ? 'none' : 'image');
				expect({ step, op, ...rd, claimToken: !!rd.claimToken, prior: priorOf(rd) }).toEqual({ step, op, ...pd, claimToken: !!pd.claimToken, prior: priorOf(pd) });
				if (pd.claimToken) tokens.postgres.set(key, pd.claimToken);
				if (rd.claimToken) tokens.redis.set(key, rd.claimToken);
			} else if (roll < 0.4) {
				op = 'transition';
				const kind = pick(['markProcessed', 'markFailed', 'release'] as const);
				const token = pick(['own', 'none', 'stale'] as const);
				const base = { kind, key, verifyClaim: rand() < 0.7, force: rand() < 0.15, resultJson: `{"step":${step}}`, errorMessage: 'e', retentionMs: 10 * MINUTE };
				const tokenOf = (own: string | null | undefined) => (token === 'own' ? (own ?? null) : token === 'stale' ? randomUUID() : null);
				const [pt] = await postgres.transition(ns, [{ ...base, claimToken: tokenOf(tokens.postgres.get(key)) }], actor0, now);
				const [rt] = await redis.transition(ns, [{ ...base, claimToken: tokenOf(tokens.redis.get(key)) }], actor0, now);
				expect({ step, op, ...rt, record: recordView(rt.record) }).toEqual({ step, op, ...pt, record: recordView(pt.record) });
			} else if (roll < 0.65) {
				op = 'recordExceptions';
				const request: OpenExceptionRequest = { key, reason: pick(['write_timeout', 'lease_expired']), owner: pick(['finance', 'revops']), severity: pick(['low', 'high'] as const), route: pick(['A', 'B']) };
				const requests = Array.from({ length: pick([1, 1, 2, 3]) }, () => request);
				const actorNow = { ...actor0, executionId: `ex-${step}` };
				const pe = await postgres.recordExceptions(ns, requests, actorNow, now);
				const re = await redis.recordExceptions(ns, requests, actorNow, now);
				pair(pe, re);
				expect({ step, op, exceptions: re.map(asPostgres) }).toEqual({ step, op, exceptions: pe });
			} else if (roll < 0.85) {
				op = 'resolveException';
				const known = [...redisIdOf.keys()];
				const byId = known.length > 0 && rand() < 0.6;
				const postgresId = byId ? pick(known) : null;
				const request: ResolveExceptionRequest = {
					id: postgresId,
					namespace: byId ? null : ns,
					key: byId ? null : key,
					resolution: pick(['replay', 'markProcessed', 'discard'] as const),
					resolvedBy: pick([null, 'jane']),
					note: pick([null, 'checked']),
					resultJson: pick([null, `{"by":"hand","step":${step}}`]),
				};
				const pr = await postgres.resolveException(request, actor0, now);
				if (postgresId) touched.push((await postgres.getException(postgresId))!.key);
				const rr = await redis.resolveException({ ...request, id: postgresId && redisIdOf.get(postgresId)! }, actor0, now);
				expect({ step, op, exceptions: rr.exceptions.map(asPostgres), record: recordView(rr.record) }).toEqual({ step, op, exceptions: pr.exceptions, record: recordView(pr.record) });
			} else {
				op = 'listOpenExceptions';
				const query = { namespace: ns, owner: pick([null, 'finance']), reason: pick([null, 'write_timeout']), olderThanMs: pick([null, 5 * MINUTE]), limit: pick([1, 3, 100]) };
				const pl = await postgres.listOpenExceptions(query, now);
				const rl = await redis.listOpenExceptions(query, now);
				expect({ step, op, exceptions: rl.map(asPostgres) }).toEqual({ step, op, exceptions: pl });
			}
			// The key this step acted on (a resolution by id acts on its exception's key).
			for (const k of new Set([key, ...touched])) await expectSameKey(step, op, k);
			expect({ step, op, stats: await redis.stats(ns, 7 * 86_400_000, now) }).toEqual({ step, op, stats: await postgres.stats(ns, 7 * 86_400_000, now) });
		}
		for (const k of keys) await expectSameKey('end', 'end', k);
		for (const [postgresId, redisId] of redisIdOf) {
			expect(asPostgres((await redis.getException(redisId))!)).toEqual(await postgres.getException(postgresId));
		}
		expect(redisIdOf.size).toBeGreaterThan(20);
	});
});
