// Postgres row locks: every statement of the store takes them in one order (key order), so its
// statements never deadlock with each other — shown with no retry at all —; and a statement
// Postgres still aborts as a deadlock (here: against a user's own transaction holding our rows) is
// sent again, because it was rolled back whole.

import { Client } from 'pg';
import { PostgresStore } from '../../../nodes/shared/store/postgres/PostgresStore';
import { poolExecutor } from '../../../nodes/shared/store/postgres/executor';
import { dropSchema, POSTGRES_URL, uniqueSchema } from '../../helpers/postgres';
import { actor, basePolicy, exceptionLockRounds, mixedOperationRounds, transitionRequest } from '../conformance';

const schema = uniqueSchema('locks');
const opened: PostgresStore[] = [];

/** A store on the schema whose statements are sent `tries` times at most when rolled back for a deadlock. */
function storeWith(tries: number): PostgresStore {
	const store = new PostgresStore({ kind: 'postgres', name: 'Postgres', schema, executor: poolExecutor({ connectionString: POSTGRES_URL, max: 2 }, { tries }), where: 'test' });
	opened.push(store);
	return store;
}

afterAll(async () => {
	await Promise.all(opened.map((store) => store.close()));
	await dropSchema(schema);
});

describe('Postgres row locks', () => {
	it('never deadlocks between its own statements: 20 rounds of claims, settlements, undos and purges in opposite orders, with no retry', async () => {
		const stores = [storeWith(1), storeWith(1), storeWith(1), storeWith(1)];
		const failures = await mixedOperationRounds(stores, 'mixed', 20);
		expect({ deadlocks: failures.filter((m) => /deadlock/i.test(m)).length, failures }).toEqual({ deadlocks: 0, failures: [] });
	}, 120_000);

	it('never deadlocks between resolving and recording exceptions: 20 rounds of resolutions by key and by id and recordings of the same keys in opposite orders, with no retry', async () => {
		const stores = [storeWith(1), storeWith(1), storeWith(1), storeWith(1)];
		const failures = await exceptionLockRounds(stores, 'exceptions', 20);
		expect({ deadlocks: failures.filter((m) => /deadlock/i.test(m)).length, failures }).toEqual({ deadlocks: 0, failures: [] });
	}, 120_000);

	/**
	 * A transaction of someone else's holds b and then asks for a while our Mark Processed of [a, b]
	 * holds a and waits for b: Postgres aborts one of the two. Returns what our call answered (or
	 * its error) and whether the other transaction got through.
	 */
	async function deadlockAgainstAUserTransaction(store: PostgresStore, ns: string) {
		const claims = await store.claim(ns, [{ key: 'a', fingerprint: null }, { key: 'b', fingerprint: null }], basePolicy, actor);
		const user = new Client({ connectionString: POSTGRES_URL });
		await user.connect();
		try {
			// The user's transaction waits long before it checks for a deadlock: our statement is the one
			// Postgres finds waiting in a cycle and aborts.
			await user.query(`BEGIN; SET LOCAL deadlock_timeout = '10s'`);
			await user.query(`SELECT 1 FROM "${schema}".records WHERE namespace = $1 AND key = 'b' FOR UPDATE`, [ns]);
			const ours = store
				.transition(ns, claims.map((d) => transitionRequest('markProcessed', d.key, d.claimToken)), actor)
				.then((results) => results.map((r) => r.applied))
				.catch((error: Error) => error.message);
			await new Promise((resolve) => setTimeout(resolve, 300));
			const theirs = user.query(`SELECT 1 FROM "${schema}".records WHERE namespace = $1 AND key = 'a' FOR UPDATE`, [ns]).then(
				() => 'locked',
				(error: Error) => error.message,
			);
			// Postgres breaks the cycle by aborting our statement: the user's lock is granted.
			const userGot = await theirs;
			await user.query('COMMIT');
			return { ours: await ours, userGot };
		} finally {
			await user.end();
		}
	}

	it('sends a statement again that Postgres rolled back to break a deadlock', async () => {
		expect(await deadlockAgainstAUserTransaction(storeWith(5), 'retried')).toEqual({ ours: [true, true], userGot: 'locked' });
	}, 30_000);

	it('(the deadlock is real: without the retry the call fails)', async () => {
		const { ours } = await deadlockAgainstAUserTransaction(storeWith(1), 'not-retried');
		expect(ours).toMatch(/deadlock detected/);
	}, 30_000);
});
