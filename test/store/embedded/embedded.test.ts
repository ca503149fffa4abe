// The store conformance suites (conformance/) on the embedded store (PGlite in a temporary data
// folder, one for the whole file, as one n8n process has one), plus what only it has: the
// refusal of queue mode, its place in the n8n user folder, and claims kept across a restart.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { assertNotQueueMode, createEmbeddedStore, defaultDataDir } from '../../../nodes/shared/store/embedded/EmbeddedStore';
import { InvalidInputError } from '../../../nodes/shared/store/errors';
import type { SqlExecutor } from '../../../nodes/shared/store/postgres/executor';
import type { IdempotencyStore } from '../../../nodes/shared/store/types';
import { describeStoreConformance } from '../conformance';

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

	it('runs a transaction in the PGlite worker thread all or nothing, with no other statement inside it, and passes database errors back with their code', async () => {
		// The store's own executor: this process may open the folder only once.
		const executor = (shared as unknown as { executor: SqlExecutor }).executor;
		await executor.query('CREATE TABLE IF NOT EXISTS public.tx_probe (k text PRIMARY KEY)');
		let outside: Promise<unknown> = Promise.resolve();
		const stopped = executor.transaction(async (query) => {
			await query(`INSERT INTO public.tx_probe VALUES ('rolled back')`);
			// Another caller's statement meanwhile waits for the transaction to end.
			outside = executor.query('INSERT INTO public.tx_probe VALUES ($1)', ['outside']);
			await new Promise((resolve) => setTimeout(resolve, 50));
			throw new Error('stop');
		});
		await expect(stopped).rejects.toThrow('stop');
		await outside;
		await executor.transaction((query) => query('INSERT INTO public.tx_probe VALUES ($1)', ['committed']));
		expect(await executor.query('SELECT k FROM public.tx_probe ORDER BY k')).toEqual([{ k: 'committed' }, { k: 'outside' }]);
		await expect(executor.query('INSERT INTO public.tx_probe VALUES ($1)', ['outside'])).rejects.toMatchObject({ code: '23505' });
		await executor.query('DROP TABLE public.tx_probe');
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
