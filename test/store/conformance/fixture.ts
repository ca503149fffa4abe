// What every conformance suite shares: the fixture a backend test file hands in, the actor and
// policy the tests claim with, one describe-level store per suite with a fresh namespace per test,
// and history helpers that accept a run of duplicates as separate events or as one counted event.

import { randomUUID } from 'crypto';
import type {
	Actor,
	ClaimDecision,
	ClaimPolicy,
	HistoryEntry,
	IdempotencyStore,
	TransitionKind,
	TransitionRequest,
	TransitionResult,
	OpenExceptionRequest,
	ResolveExceptionRequest,
} from '../../../nodes/shared/store/types';
import type { TcpProxy } from '../../helpers/tcpProxy';

/** A store whose connections pass through a TCP proxy, for fault tests. */
export interface ProxiedStore {
	store: IdempotencyStore;
	proxy: TcpProxy;
	/** Text in the request that carries a claim / a transition, for TcpProxy.dropNextReply. */
	claimMarker: string;
	transitionMarker: string;
	close(): Promise<void>;
}

export interface StoreFixture {
	/** The store under test. */
	store: IdempotencyStore;
	/** Another store on the same data, with its own connection(s) — for races; the caller closes it. */
	openPeer(): Promise<IdempotencyStore>;
	/** Removes what this fixture created (the backend file removes the rest after the file). */
	cleanup(): Promise<void>;
	/** Where the backend has a network: a store on the same data behind a TCP proxy. */
	openProxied?(): Promise<ProxiedStore>;
	/** Where the backend has a network: a store of this kind where nothing listens. */
	openUnreachable?(): IdempotencyStore;
	/** How the unreachable store names where it looked, e.g. `127.0.0.1:1`. */
	unreachableWhere?: string;
}

export type FixtureFactory = () => Promise<StoreFixture>;

export const actor: Actor = { workflowId: 'wf-1', executionId: 'ex-1', node: 'Guard' };

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const basePolicy: ClaimPolicy = {
	leaseMs: MINUTE,
	retentionMs: DAY,
	onInProgress: 'ambiguous',
	onLeaseExpired: 'ambiguous',
	onFailed: 'retry',
	maxAttempts: 3,
	onPayloadMismatch: 'ambiguous',
};

export function transitionRequest(
	kind: TransitionKind,
	key: string,
	claimToken: string | null,
	extra: Partial<TransitionRequest> = {},
): TransitionRequest {
	return { kind, key, claimToken, verifyClaim: true, force: false, resultJson: null, errorMessage: null, retentionMs: DAY, ...extra };
}

/**
 * One store per describe (opened once, cleaned after), a fresh namespace per test, and the calls
 * most tests make, bound to both.
 */
export function useStore(open: FixtureFactory, label: string) {
	const ctx = {
		fixture: undefined as unknown as StoreFixture,
		store: undefined as unknown as IdempotencyStore,
		ns: '',
		claimOne: async (key: string, now?: number, policy: Partial<ClaimPolicy> = {}, fingerprint: string | null = null): Promise<ClaimDecision> =>
			(await ctx.store.claim(ctx.ns, [{ key, fingerprint }], { ...basePolicy, ...policy }, actor, now))[0],
		transitionOne: async (request: TransitionRequest, now?: number): Promise<TransitionResult> =>
			(await ctx.store.transition(ctx.ns, [request], actor, now))[0],
		/** markProcessed with result {"contactId":"c-1"}, or markFailed with "CRM said 500". */
		settle: async (kind: 'markProcessed' | 'markFailed', key: string, token: string | null, now?: number, extra: Partial<TransitionRequest> = {}) =>
			ctx.transitionOne(
				transitionRequest(kind, key, token, {
					resultJson: kind === 'markProcessed' ? '{"contactId":"c-1"}' : null,
					errorMessage: kind === 'markFailed' ? 'CRM said 500' : null,
					...extra,
				}),
				now,
			),
	};
	beforeAll(async () => {
		ctx.fixture = await open();
		ctx.store = ctx.fixture.store;
	});
	afterAll(async () => {
		await ctx.fixture?.cleanup();
	});
	beforeEach(() => {
		ctx.ns = `${label}-${randomUUID()}`;
	});
	return ctx;
}

/** How many deliveries a history entry stands for: a compacted run of duplicates carries `count`. */
export function deliveriesOf(entry: HistoryEntry): number {
	const count = (entry as HistoryEntry & { count?: number }).count;
	return typeof count === 'number' ? count : 1;
}

/** The history with every compacted run of duplicates written out as that many entries. */
export function expandRuns(history: HistoryEntry[]): HistoryEntry[] {
	return history.flatMap((entry) => Array.from({ length: deliveriesOf(entry) }, () => entry));
}

/**
 * `entries` are one run of `n` duplicate deliveries (reason `reason` when given): n separate
 * `duplicate_seen` entries, or one entry with `count` n.
 */
export function expectDuplicateRun(entries: HistoryEntry[], n: number, reason?: string): void {
	expect(entries.length).toBeGreaterThan(0);
	for (const entry of entries) {
		expect(entry.event).toBe('duplicate_seen');
		if (reason !== undefined) expect(entry.reason).toBe(reason);
	}
	expect(entries.reduce((sum, entry) => sum + deliveriesOf(entry), 0)).toBe(n);
}

/**
 * Runs `rounds` rounds in which every claimer claims the same fresh key at the same moment, and
 * returns how many `new` outcomes each round produced. Correct stores give 1 every round; the
 * backend files also run it against a read-then-write claim to show it catches that race.
 */
export async function raceRounds(claimers: Array<(key: string) => Promise<string>>, rounds: number): Promise<number[]> {
	const newPerRound: number[] = [];
	for (let round = 0; round < rounds; round++) {
		const key = `race-${round}-${randomUUID()}`;
		const outcomes = await Promise.all(claimers.map((claim) => claim(key)));
		newPerRound.push(outcomes.filter((outcome) => outcome === 'new').length);
	}
	return newPerRound;
}

/** The rejection of `call`, or a failure when it resolved. */
export async function rejectionOf(call: () => Promise<unknown>): Promise<Error> {
	try {
		await call();
	} catch (error) {
		return error as Error;
	}
	throw new Error('expected the call to be refused, but it resolved');
}

/** A pseudo-random generator with a seed, so that a failing walk can be replayed. */
export function seeded(seed: number) {
	const rand = () => {
		seed = (seed * 1103515245 + 12345) % 2147483648;
		return seed / 2147483648;
	};
	const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)];
	return { rand, pick };
}

/** An exception to record: a write timeout for the Finance route, unless `over` says otherwise. */
export function exceptionRequest(key: string, reason = 'write_timeout', over: Partial<OpenExceptionRequest> = {}): OpenExceptionRequest {
	return { key, reason, owner: 'ops', severity: 'high', route: 'Finance', ...over };
}

/** A resolution that names nothing and discards, unless `over` says otherwise. */
export function resolutionRequest(over: Partial<ResolveExceptionRequest>): ResolveExceptionRequest {
	return { id: null, namespace: null, key: null, resolution: 'discard', resolvedBy: null, note: null, resultJson: null, ...over };
}
