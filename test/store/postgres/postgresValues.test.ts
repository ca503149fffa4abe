// Values Postgres cannot store beyond names (those are refused by base/checks.ts on every store):
// a NUL character in a text or in a result's JSON, an index entry over Postgres's limit. Each is
// our InvalidInputError saying what and what to do, not Postgres's raw error, and nothing is written.

import { InvalidInputError } from '../../../nodes/shared/store/errors';
import { dropSchema, postgresTestStore, uniqueSchema } from '../../helpers/postgres';
import { actor, basePolicy, exceptionRequest, rejectionOf, transitionRequest } from '../conformance';

const schema = uniqueSchema('values');
const store = postgresTestStore(schema, 2);

afterAll(async () => {
	await store.close();
	await dropSchema(schema);
});

describe('Postgres: values it cannot store', () => {
	async function claimed(ns: string, key: string): Promise<string> {
		const [d] = await store.claim(ns, [{ key, fingerprint: null }], basePolicy, actor);
		return d.claimToken!;
	}

	it.each([
		[
			'a NUL in a result',
			async (ns: string) => store.transition(ns, [transitionRequest('markProcessed', 'k', await claimed(ns, 'k'), { resultJson: JSON.stringify({ note: 'a\u0000b' }) })], actor),
			/the result contains a NUL character.*JSON/,
		],
		[
			'a NUL in an error message',
			async (ns: string) => store.transition(ns, [transitionRequest('markFailed', 'k', await claimed(ns, 'k'), { errorMessage: 'HTTP 500: \u0000' })], actor),
			/a text contains a NUL character/,
		],
		['a NUL in an owner', async (ns: string) => store.recordExceptions(ns, [exceptionRequest('k', 'write_timeout', { owner: 'ops\u0000' })], actor), /a text contains a NUL/],
		[
			'a reason too long for the index, with a long key',
			async (ns: string) =>
				store.recordExceptions(ns, [exceptionRequest('x'.repeat(1000) + Math.random(), Array.from({ length: 700 }, (_, i) => String.fromCodePoint(0x10000 + i * 997)).join(''))], actor),
			/a name is too long for an index entry/,
		],
	])('refuses %s with an InvalidInputError that says what to do', async (_what, call, message) => {
		const ns = `values-${Math.random()}`;
		const error = await rejectionOf(() => call(ns));
		expect(error).toBeInstanceOf(InvalidInputError);
		expect(error.message).toMatch(/^Postgres cannot store a value while /);
		expect(error.message).toMatch(message);
		expect((error as InvalidInputError).hint).toMatch(/Remove|shorter/);
		// The refused call changed nothing: a claimed key is still processing, no exception opened.
		const record = await store.get(ns, 'k');
		expect(record === null || record.state === 'processing').toBe(true);
		expect(await store.listOpenExceptions({ namespace: ns, limit: 10 })).toEqual([]);
	});
});
