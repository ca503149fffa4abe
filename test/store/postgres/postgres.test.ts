// The store conformance suites (conformance/) on the real Postgres, plus what only Postgres has:
// migrations and functions under concurrency and from an older schema, schema name validation, the claim's
// prior image kept only while the claim is live, and proof that the race test catches a
// read-then-write claim.

import { Pool } from 'pg';
import { InvalidInputError } from '../../../nodes/shared/store/errors';
import { PostgresStore } from '../../../nodes/shared/store/postgres/PostgresStore';
import { loadFunctions, loadMigrations } from '../../../nodes/shared/store/postgres/migrate';
import { dropSchema, POSTGRES_URL, postgresTestStore, sql, uniqueSchema } from '../../helpers/postgres';
import { startTcpProxy } from '../../helpers/tcpProxy';
import { createShippedSchema } from '../fixtures/postgres-006/shipped';
import { describeStoreConformance, raceRounds } from '../conformance';

// One schema for every suite of this file (each test has its own namespace), dropped at the end.
const schema = uniqueSchema('conformance');
afterAll(async () => {
	await dropSchema(schema);
});

/** A store on the schema, reached through `url` instead of POSTGRES_URL. */
function storeAt(url: string, maxConnections: number): PostgresStore {
	return new PostgresStore({ host: '', port: 0, database: '', user: '', ssl: 'disable', schema, maxConnections, connectionString: url });
}

describeStoreConformance(
	'Postgres',
	async () => {
		const store = postgresTestStore(schema, 10);
		return {
			store,
			openPeer: async () => postgresTestStore(schema, 1),
			cleanup: () => store.close(),
			openProxied: async () => {
				const target = new URL(POSTGRES_URL);
				const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
				const through = new URL(POSTGRES_URL);
				through.hostname = proxy.host;
				through.port = String(proxy.port);
				const proxied = storeAt(through.toString(), 1);
				return {
					store: proxied,
					proxy,
					claimMarker: 'idempotency_claim',
					transitionMarker: 'idempotency_transition',
					close: async () => {
						await proxied.close();
						await proxy.close();
					},
				};
			},
			openUnreachable: () => new PostgresStore({ host: '127.0.0.1', port: 1, database: 'x', user: 'x', ssl: 'disable', schema, maxConnections: 1 }),
			unreachableWhere: '127.0.0.1:1',
		};
	},
	{ faults: true },
);

describe('Postgres store specifics', () => {
	const own = uniqueSchema('specifics');
	afterAll(async () => {
		await dropSchema(own);
	});

	it('applies migrations exactly once when many processes start at the same time', async () => {
		const stores = Array.from({ length: 8 }, () => postgresTestStore(own, 1));
		const results = await Promise.all(stores.map((s) => s.health()));
		expect(results.every((r) => r.ok)).toBe(true);
		const versions = await sql<{ version: number }>(`SELECT version FROM "${own}".schema_migrations ORDER BY version`);
		expect(versions.map((v) => v.version)).toEqual(loadMigrations(own).map((m) => m.version));
		expect(versions.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
		// The functions too: one application of the set, by whichever process came first.
		expect(await sql(`SELECT hash FROM "${own}".schema_functions`)).toEqual([{ hash: loadFunctions(own).hash }]);
		await Promise.all(stores.map((s) => s.close()));
	});

	it('migration 006 keeps the open exceptions of an older schema: reasons from their reason, repeats still counted on them', async () => {
		const old = uniqueSchema('before_006');
		const client = new Pool({ connectionString: POSTGRES_URL, max: 1 });
		try {
			await createShippedSchema(client, old, 4);
			const { rows } = await client.query(
				`INSERT INTO "${old}".exceptions (namespace, key, reason, owner, severity, route, first_seen_at, last_seen_at)
				 VALUES ('ns', 'k', 'lease_expired', 'ops', 'high', 'Ops', 1000, 1000) RETURNING id`,
			);
			const store = postgresTestStore(old, 1);
			const actor = { workflowId: null, executionId: null, node: null };
			const [again] = await store.recordExceptions('ns', [{ key: 'k', reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops' }], actor, 2000);
			expect(again).toMatchObject({ id: rows[0].id, occurrences: 2, reasons: ['lease_expired'], groupBy: 'keyAndReason', lastSeenAt: 2000 });
			const [incident] = await store.recordExceptions('ns', [{ key: 'k', reason: 'lease_expired', owner: 'ops', severity: 'high', route: 'Ops', groupBy: 'key' }], actor, 3000);
			expect(incident.id).not.toBe(rows[0].id);
			await store.close();
		} finally {
			await client.end();
			await dropSchema(old);
		}
	});

	it.each([['bad-name'], ['"; DROP SCHEMA public; --'], ['UPPER'], [''], ['a'.repeat(64)]])(
		'refuses the schema name %j before touching the database',
		(name) => {
			expect(() => postgresTestStore(name)).toThrow(InvalidInputError);
		},
	);

	it('keeps the record a claim found only while the claim is live (no earlier life past its retention)', async () => {
		const store = postgresTestStore(own, 1);
		const policy = { leaseMs: 60_000, retentionMs: 1000, onInProgress: 'ambiguous', onLeaseExpired: 'ambiguous', onFailed: 'retry', maxAttempts: 3, onPayloadMismatch: 'ambiguous' } as const;
		const who = { workflowId: null, executionId: null, node: null };
		const T0 = Date.now();
		const [first] = await store.claim('prior', [{ key: 'k', fingerprint: null }], policy, who, T0);
		await store.transition('prior', [{ kind: 'markProcessed', key: 'k', claimToken: first.claimToken, verifyClaim: true, force: false, resultJson: '{"secret":"old life"}', retentionMs: 0 }], who, T0 + 1);
		const [again] = await store.claim('prior', [{ key: 'k', fingerprint: null }], policy, who, T0 + 5000);
		expect(again.prior).toMatchObject({ state: 'processed', result: { secret: 'old life' } });
		const prior = async () => (await sql<{ prior: unknown }>(`SELECT prior FROM "${own}".records WHERE namespace = 'prior' AND key = 'k'`))[0].prior;
		expect(await prior()).not.toBeNull();
		await store.transition('prior', [{ kind: 'markProcessed', key: 'k', claimToken: again.claimToken, verifyClaim: true, force: false, resultJson: '{"new":1}', retentionMs: 0 }], who, T0 + 5001);
		expect(await prior()).toBeNull();
		await store.close();
	});

	it('the race test catches a read-then-write claim (so it can fail)', async () => {
		const naiveSchema = uniqueSchema('naive');
		const setup = postgresTestStore(naiveSchema, 1);
		await setup.health(); // creates the tables
		const pool = new Pool({ connectionString: POSTGRES_URL, max: 50 });
		// Reads the record, then writes a claim if it saw none: the mistake the real claim avoids.
		const naiveClaim = async (key: string) => {
			const { rows } = await pool.query(`SELECT state FROM "${naiveSchema}".records WHERE namespace = 'n' AND key = $1`, [key]);
			if (rows.length > 0) return 'ambiguous';
			await pool.query(
				`INSERT INTO "${naiveSchema}".records (namespace, key, state, attempt, first_seen_at, last_seen_at, updated_at)
				 VALUES ('n', $1, 'processing', 1, 0, 0, 0)
				 ON CONFLICT (namespace, key) DO UPDATE SET attempt = 1`,
				[key],
			);
			return 'new';
		};
		const newPerRound = await raceRounds(Array.from({ length: 50 }, () => naiveClaim), 20);
		await pool.end();
		await setup.close();
		await dropSchema(naiveSchema);
		expect(Math.max(...newPerRound)).toBeGreaterThan(1);
	});
});
