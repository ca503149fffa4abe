// The store conformance suites (conformance/) on the embedded store (PGlite in a temporary data
// folder, one for the whole file, as one n8n process has one), plus what only it has: the
// refusal of queue mode, its place in the n8n user folder, and claims kept across a restart.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { assertNotQueueMode, createEmbeddedStore, defaultDataDir } from '../../nodes/shared/store/embedded/EmbeddedStore';
import { InvalidInputError } from '../../nodes/shared/store/errors';
import type { IdempotencyStore } from '../../nodes/shared/store/types';
import { describeStoreConformance } from './conformance';

const dir = mkdtempSync(join(tmpdir(), 'idem-embedded-conformance-'));
const shared = createEmbeddedStore(dir);
afterAll(async () => {
	await shared.close();
	rmSync(dir, { recursive: true, force: true });
});

/** The shared store's methods, with a close() that leaves it open for the next suite. */
function borrowed(store: IdempotencyStore): IdempotencyStore {
	const bound: Record<string, unknown> = { kind: store.kind };
	// The methods of the store's class and of the classes it extends (BaseStore).
	for (let proto = Object.getPrototypeOf(store); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
		for (const name of Object.getOwnPropertyNames(proto)) {
			const value = (store as unknown as Record<string, unknown>)[name];
			if (typeof value === 'function' && name !== 'constructor' && !(name in bound)) bound[name] = (value as (...a: unknown[]) => unknown).bind(store);
		}
	}
	bound.close = async () => undefined;
	return bound as unknown as IdempotencyStore;
}

// Executions of one n8n share its one PGlite: peers are the same store.
describeStoreConformance('Embedded (PGlite)', async () => ({
	store: borrowed(shared),
	openPeer: async () => borrowed(shared),
	cleanup: async () => undefined,
}));

describe('embedded store specifics', () => {
	it('refuses queue mode with an error that says to use Postgres or Redis', () => {
		expect(() => assertNotQueueMode({ EXECUTIONS_MODE: 'queue' })).toThrow(InvalidInputError);
		expect(() => assertNotQueueMode({ EXECUTIONS_MODE: 'queue' })).toThrow(/queue mode/);
		try {
			assertNotQueueMode({ EXECUTIONS_MODE: 'queue' });
		} catch (error) {
			expect((error as InvalidInputError).hint).toMatch(/Postgres or Redis/);
		}
		expect(() => assertNotQueueMode({ EXECUTIONS_MODE: 'regular' })).not.toThrow();
		expect(() => assertNotQueueMode({})).not.toThrow();
	});

	it('keeps its data in the n8n user folder', () => {
		expect(defaultDataDir({ N8N_USER_FOLDER: '/data/n8n' })).toBe('/data/n8n/.n8n/idempotency');
	});

	it('keeps claims across a restart of the process (the folder is reopened)', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'idem-embedded-restart-'));
		const policy = { leaseMs: 60_000, retentionMs: 0, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' } as const;
		const actor = { workflowId: 'w', executionId: 'e', node: 'n' };
		const first = createEmbeddedStore(dir);
		expect((await first.claim('ns', [{ key: 'k', fingerprint: null }], policy, actor))[0].outcome).toBe('new');
		await first.close();
		const second = createEmbeddedStore(dir);
		expect((await second.claim('ns', [{ key: 'k', fingerprint: null }], policy, actor))[0]).toMatchObject({ outcome: 'ambiguous', reason: 'in_progress' });
		await second.close();
		rmSync(dir, { recursive: true, force: true });
	});
});
