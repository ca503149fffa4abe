// Model-based property tests (fast-check): random interleavings of claim / markProcessed /
// markFailed / markReceived / release / clock advances by three actors, on every store, checked
// step by step against the reference model, with the invariants of docs/CONTRACT.md §5–6:
// never two live claims of one key; a processed key never yields `new` before retention ends;
// a stale token never applies; history is complete and ordered.

import { randomUUID } from 'crypto';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'fs';
import Redis from 'ioredis';
import { tmpdir } from 'os';
import { join } from 'path';
import { createEmbeddedStore } from '../../nodes/shared/store/embedded/EmbeddedStore';
import { createRedisStore } from '../../nodes/shared/store/redis/RedisStore';
import type { ClaimPolicy, IdempotencyStore, TransitionKind } from '../../nodes/shared/store/types';
import { dropSchema, postgresTestStore, uniqueSchema } from '../helpers/postgres';
import { pickTransition, ReferenceModel } from './model';

const RUNS = Number(process.env.MODEL_RUNS ?? 60);
const LEASE = 10_000;
const RETENTION = 100_000;
const KEYS = ['k0', 'k1'];
const ACTORS = 3;

const policies: ClaimPolicy[] = [
	{ leaseMs: LEASE, retentionMs: RETENTION, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' },
	{ leaseMs: LEASE, retentionMs: RETENTION, onInProgress: 'duplicate', onLeaseExpired: 'reclaim', onFailed: 'retry', maxAttempts: 2, onPayloadMismatch: 'duplicate' },
	{ leaseMs: LEASE, retentionMs: 0, onInProgress: 'pending', onLeaseExpired: 'reclaim', onFailed: 'ambiguous', maxAttempts: 3, onPayloadMismatch: 'ambiguous' },
];

type Command =
	| { type: 'claim'; actor: number; key: string; fingerprint: string | null; policy: number }
	| { type: 'settle'; actor: number; key: string; kind: TransitionKind; token: 'own' | 'none' | 'forged'; verify: boolean; force: boolean }
	| { type: 'tick'; ms: number };

const command: fc.Arbitrary<Command> = fc.oneof(
	{ weight: 5, arbitrary: fc.record({ type: fc.constant('claim' as const), actor: fc.nat(ACTORS - 1), key: fc.constantFrom(...KEYS), fingerprint: fc.constantFrom(null, 'a', 'b'), policy: fc.nat(policies.length - 1) }) },
	{
		weight: 4,
		arbitrary: fc.record({
			type: fc.constant('settle' as const),
			actor: fc.nat(ACTORS - 1),
			key: fc.constantFrom(...KEYS),
			kind: fc.constantFrom<TransitionKind>('markProcessed', 'markProcessed', 'markFailed', 'markReceived', 'release'),
			token: fc.constantFrom<'own' | 'none' | 'forged'>('own', 'own', 'own', 'none', 'forged'),
			verify: fc.constantFrom(true, true, true, false),
			force: fc.constantFrom(false, false, false, false, true),
		}),
	},
	{ weight: 2, arbitrary: fc.record({ type: fc.constant('tick' as const), ms: fc.constantFrom(1, LEASE / 2, LEASE + 1, RETENTION + 1) }) },
);

interface Fixture {
	store: IdempotencyStore;
	cleanup(): Promise<void>;
}

const stores: Array<[string, () => Promise<Fixture>]> = [
	[
		'Postgres',
		async () => {
			const schema = uniqueSchema('model');
			const store = postgresTestStore(schema, 2);
			return { store, cleanup: async () => { await store.close(); await dropSchema(schema); } };
		},
	],
	[
		'Redis',
		async () => {
			const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
			const keyPrefix = `test:model:${randomUUID().slice(0, 8)}:`;
			const config = { host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix, mode: 'standalone' as const, allowNoPersistence: true };
			const store = createRedisStore(config);
			return {
				store,
				cleanup: async () => {
					await store.close();
					const redis = new Redis({ host: config.host, port: config.port, lazyConnect: true });
					await redis.connect();
					let cursor = '0';
					do {
						const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
						cursor = next;
						if (keys.length) await redis.del(...keys);
					} while (cursor !== '0');
					await redis.quit();
				},
			};
		},
	],
	[
		'Embedded (PGlite)',
		async () => {
			const dir = mkdtempSync(join(tmpdir(), 'idem-model-'));
			const store = createEmbeddedStore(dir);
			return { store, cleanup: async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); } };
		},
	],
];

describe.each(stores)('%s against the reference model', (_name, open) => {
	let fixture: Fixture;
	beforeAll(async () => {
		fixture = await open();
	});
	afterAll(async () => {
		await fixture?.cleanup();
	});

	it(`agrees with the model and keeps the invariants over ${RUNS} random histories`, async () => {
		await fc.assert(
			fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 30 }), async (commands) => {
				const store = fixture.store;
				const ns = `model-${randomUUID()}`;
				const model = new ReferenceModel();
				const tokens = new Map<string, string>(); // `${actor}/${key}` -> last token the actor got
				let now = Date.now();
				const actorOf = (actor: number) => ({ workflowId: 'wf', executionId: `ex-${actor}`, node: `actor-${actor}` });

				for (const cmd of commands) {
					if (cmd.type === 'tick') {
						now += cmd.ms;
						continue;
					}
					if (cmd.type === 'claim') {
						const policy = policies[cmd.policy];
						const before = model.visible(cmd.key);
						const [actual] = await store.claim(ns, [{ key: cmd.key, fingerprint: cmd.fingerprint }], policy, actorOf(cmd.actor), now);
						const expected = model.claim(cmd.key, cmd.fingerprint, policy, now, actual);
						expect({ step: cmd, outcome: actual.outcome, reason: actual.reason, state: actual.state, attempt: actual.attempt }).toEqual({ step: cmd, ...expected });
						// A processed key never yields new before its retention ends.
						if (before?.state === 'processed' && (before.expiresAt === null || before.expiresAt > now)) {
							expect(actual.outcome).not.toBe('new');
						}
						if (actual.outcome === 'new') tokens.set(`${cmd.actor}/${cmd.key}`, actual.claimToken!);
					} else {
						const own = tokens.get(`${cmd.actor}/${cmd.key}`) ?? null;
						const token = cmd.token === 'own' ? own : cmd.token === 'forged' ? randomUUID() : null;
						const before = model.visible(cmd.key);
						const [result] = await store.transition(
							ns,
							[{ kind: cmd.kind, key: cmd.key, claimToken: token, verifyClaim: cmd.verify, force: cmd.force, retentionMs: RETENTION, resultJson: '{"ok":true}', errorMessage: 'boom' }],
							actorOf(cmd.actor),
							now,
						);
						const expected = model.transition(cmd.key, cmd.kind, token, cmd.verify, cmd.force, now, RETENTION);
						expect({ step: cmd, ...pickTransition(result) }).toEqual({ step: cmd, ...expected });
						// A stale (or forged) token never moves a live claim it does not own.
						if (before?.state === 'processing' && cmd.verify && !cmd.force && token !== before.claimToken) {
							expect(result.applied).toBe(false);
						}
					}
					// After every step the stored record matches the model; at most one live claim.
					for (const key of KEYS) {
						const expected = model.visible(key);
						const actual = await store.get(ns, key);
						if (expected === null) {
							expect({ key, record: actual }).toEqual({ key, record: null });
						} else {
							expect({ key, state: actual?.state, attempt: actual?.attempt, duplicateCount: actual?.duplicateCount, leaseUntil: actual?.leaseUntil, expiresAt: actual?.expiresAt, token: actual?.claimToken ?? null }).toEqual({
								key,
								state: expected.state,
								attempt: expected.attempt,
								duplicateCount: expected.duplicateCount,
								leaseUntil: expected.leaseUntil,
								expiresAt: expected.expiresAt,
								token: expected.claimToken,
							});
						}
						const liveHolders = [...tokens.entries()].filter(
							([id, token]) => id.endsWith(`/${key}`) && actual?.state === 'processing' && actual.claimToken === token && (actual.leaseUntil ?? 0) > now,
						);
						expect(liveHolders.length).toBeLessThanOrEqual(1);
						// History is complete (one event per decision and transition) and in time order.
						const history = await store.history(ns, key);
						expect(history).toHaveLength(model.historyLength.get(key) ?? 0);
						expect(history.reduce((n, h) => n + (h.count ?? 1), 0)).toBe(model.historyEvents.get(key) ?? 0);
						for (let i = 1; i < history.length; i++) expect(history[i].at).toBeGreaterThanOrEqual(history[i - 1].at);
					}
				}
			}),
			{ numRuns: RUNS, endOnFailure: true },
		);
	});
});
