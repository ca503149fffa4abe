// What a user meets in the editor, at the node boundary: a field dragged onto Key Fields, no
// credential selected (or one that does not exist here), a test run held by an earlier test
// run, the credential test's warnings, the store's durability warning as an execution hint, the
// Ledger's _idempotency.state, and tool mode.

import { NodeOperationError, type IDataObject, type IExecuteFunctions, type INode, type INodeExecutionData, type NodeExecutionHint } from 'n8n-workflow';
import { ExceptionRouter } from '../../nodes/ExceptionRouter/ExceptionRouter.node';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { credentialTest, credentialTestResult } from '../../nodes/shared/n8n/credentialTests';
import { pathsFromExpression } from '../../nodes/shared/n8n/fieldPaths';
import { mockContext, redisCredential, type ParameterValue } from '../helpers/n8nContext';
import { nodeTestStores } from '../helpers/nodeStores';
import Redis from 'ioredis';
import { REDIS_URL } from '../helpers/redis';
import { CREDENTIAL_KINDS } from '../../nodes/shared/store/backends';
import { startRedis, type PrivateRedis } from '../helpers/redisServer';

let namespace = '';

const { prefix, credentials } = nodeTestStores('editor_node', 'editor', (ns) => {
	namespace = ns;
});

const meta = (item: INodeExecutionData) => item.json._idempotency as IDataObject;

/** A node as n8n hands it over: its raw (unresolved) parameters and its selected credentials. */
function nodeWith(raw: IDataObject, selected: INode['credentials'], type = 'n8n-nodes-idempotency.idempotencyGuard'): INode {
	return { id: 'n1', name: 'Guard', type, typeVersion: 1, position: [0, 0], parameters: raw as INode['parameters'], credentials: selected };
}

function guardContext(
	items: INodeExecutionData[],
	parameters: Record<string, ParameterValue>,
	extra: Partial<Record<keyof IExecuteFunctions, unknown>> = {},
) {
	return mockContext({
		items,
		parameters: { store: 'postgres', namespace, keySource: 'fields', fingerprint: 'none', options: {}, ...parameters },
		credentials,
		extra,
	});
}

describe('a field dragged onto Key Fields', () => {
	it('reads {{ $json.… }} references as the paths they name', () => {
		expect(pathsFromExpression('={{ $json.email }}')).toEqual(['email']);
		expect(pathsFromExpression('={{ $json.body.email }}, {{ $json.body.source }}')).toEqual(['body.email', 'body.source']);
		expect(pathsFromExpression("={{ $json.body['submission id'] }}, {{ $json.items[0].sku }}")).toEqual(['body.submission id', 'items[0].sku']);
		expect(pathsFromExpression('={{ $json.email }}, body.source')).toEqual(['email', 'body.source']);
		// a bracketed name that Key Fields would read as other fields is not rewritten as a path
		expect(pathsFromExpression('={{ $json["order.id"] }}')).toBeNull();
		expect(pathsFromExpression("={{ $json['a,b'] }}")).toBeNull();
		expect(pathsFromExpression('={{ $json.order["id"] }}')).toEqual(['order.id']);
		expect(pathsFromExpression('={{ $json.email.toLowerCase() }}')).toBeNull();
		expect(pathsFromExpression('={{ "body.email" }}')).toBeNull();
	});

	it('keys on the field, not on its value, when Key Fields holds {{ $json.email }}', async () => {
		// n8n resolves the expression before the node reads it: the value is the email itself.
		const items = [{ json: { email: 'a@b.c' } }, { json: { email: 'a@b.c' } }, { json: { email: 'z@y.x' } }];
		const context = guardContext(items, { keyFields: (i: number) => items[i].json.email }, {
			getNode: () => nodeWith({ keyFields: '={{ $json.email }}' }, { idempotencyPostgresApi: { id: 'c', name: 'pg' } }),
		});
		const [fresh, duplicate, ambiguous] = await new IdempotencyGuard().execute.call(context);
		expect(ambiguous.map((i) => meta(i).detail)).toEqual([]);
		expect(fresh.map((i) => meta(i).key)).toEqual(['a@b.c', 'z@y.x']);
		expect(duplicate).toHaveLength(1);
	});

	it('still evaluates an expression that computes the list of paths', async () => {
		const items = [{ json: { body: { email: 'a@b.c' } } }];
		const context = guardContext(items, { keyFields: 'body.email' }, {
			getNode: () => nodeWith({ keyFields: '={{ "body." + "email" }}' }, { idempotencyPostgresApi: { id: 'c', name: 'pg' } }),
		});
		const [fresh] = await new IdempotencyGuard().execute.call(context);
		expect(meta(fresh[0]).key).toBe('a@b.c');
	});
});

describe('the store credential', () => {
	const lead = [{ json: { email: 'a@b.c' } }];
	const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: Error & { description?: string }) => e);

	it.each(CREDENTIAL_KINDS)('not selected (%s): the error says which credential to select', async (store) => {
		const label = store === 'postgres' ? 'Idempotency Store (Postgres)' : 'Idempotency Store (Redis)';
		// After switching Store, n8n keeps the other store's credential and leaves this one empty.
		const other: INode['credentials'] =
			store === 'postgres' ? { idempotencyRedisApi: { id: 'r', name: 'redis' } } : { idempotencyPostgresApi: { id: 'p', name: 'pg' } };
		const guardError = await errorOf(
			new IdempotencyGuard().execute.call(guardContext(lead, { store, keyFields: 'email' }, { getNode: () => nodeWith({}, other) })),
		);
		expect(guardError?.message).toBe(`No ${label} credential is selected`);
		expect(guardError?.description).toContain(`select an ${label} credential`);
		expect(guardError?.message).not.toMatch(/store failed|reachable/i);

		const ledgerError = await errorOf(
			new StateLedger().execute.call(
				mockContext({
					items: lead,
					parameters: { store, operation: 'stats', namespace, sinceHours: 1 },
					credentials,
					extra: { getNode: () => nodeWith({}, other, 'n8n-nodes-idempotency.stateLedger') },
				}),
			),
		);
		expect(ledgerError?.message).toBe(`No ${label} credential is selected`);
	});

	it('selected but missing on this n8n (an imported ID): the error names it and the fix', async () => {
		const selected = { idempotencyPostgresApi: { id: 'idemStorePostgres', name: 'Idempotency Store (Postgres)' } };
		const node = nodeWith({}, selected);
		const context = guardContext(lead, { keyFields: 'email' }, {
			getNode: () => node,
			// what n8n's getCredentials throws for an ID it does not know
			getCredentials: async () => {
				throw new Error('Credential with ID "idemStorePostgres" does not exist for type "idempotencyPostgresApi".');
			},
		});
		const error = await errorOf(new IdempotencyGuard().execute.call(context));
		expect(error?.message).toBe('The selected Idempotency Store (Postgres) credential "Idempotency Store (Postgres)" does not exist on this n8n');
		expect(error?.description).toContain('select an Idempotency Store (Postgres) credential');
	});
});

describe('an unknown Store (a workflow from a newer version of this package)', () => {
	const lead = [{ json: { email: 'a@b.c' } }];
	const CHOOSE = 'Choose Postgres, Redis or Embedded as the Store.';
	const errorOf = (p: Promise<unknown>) => p.then(() => null, (e: Error & { description?: string }) => e);

	it('fails the Guard with the store\'s own hint, not "check that the store is reachable"', async () => {
		const error = await errorOf(new IdempotencyGuard().execute.call(guardContext(lead, { store: 'mongo', keyFields: 'email' })));
		expect(error).toBeInstanceOf(NodeOperationError);
		expect(error?.message).toBe('The idempotency store failed: Unknown store "mongo"');
		expect(error?.description).toBe(`${CHOOSE} Nothing was routed as New.`);
		expect(error?.message).not.toContain(CHOOSE);
	});

	it('is not routed as store_unavailable under On Store Error: Ambiguous — the store is not down, the setting is wrong', async () => {
		const error = await errorOf(
			new IdempotencyGuard().execute.call(guardContext(lead, { store: 'mongo', keyFields: 'email', options: { onStoreError: 'ambiguous' } })),
		);
		expect(error?.description).toContain(CHOOSE);
	});

	it('reaches the item under continue-on-fail: error, errorHint and _idempotency.hint', async () => {
		const context = mockContext({
			items: lead,
			parameters: { store: 'mongo', namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options: {} },
			credentials,
			continueOnFail: true,
		});
		const [fresh, duplicate, ambiguous] = await new IdempotencyGuard().execute.call(context);
		expect([fresh.length, duplicate.length]).toEqual([0, 0]);
		expect(ambiguous[0].json).toMatchObject({ error: 'The idempotency store failed: Unknown store "mongo"', errorHint: `${CHOOSE} Nothing was routed as New.` });
		expect(meta(ambiguous[0])).toMatchObject({ reason: 'store_unavailable', detail: 'Unknown store "mongo"', hint: `${CHOOSE} Nothing was routed as New.` });
	});

	it('fails the State Ledger with the same hint', async () => {
		const error = await errorOf(
			new StateLedger().execute.call(mockContext({ items: lead, parameters: { store: 'mongo', operation: 'stats', namespace, sinceHours: 1 }, credentials })),
		);
		expect(error?.message).toBe('The store is not set up: Unknown store "mongo"');
		expect(error?.description).toBe(CHOOSE);
	});
});

describe('a test run held by an earlier test run', () => {
	const lead = [{ json: { email: 'held@b.c' } }];
	let executions = 0;
	const run = (mode: string, hints: NodeExecutionHint[], options: IDataObject = {}) =>
		new IdempotencyGuard().execute.call(
			guardContext(lead, { keyFields: 'email', options }, {
				getMode: () => mode,
				getExecutionId: () => `ex-${++executions}`,
				addExecutionHints: (...h: NodeExecutionHint[]) => hints.push(...h),
			}),
		);

	it('takes the key back: a second test run is New again, with no hint', async () => {
		const hints: NodeExecutionHint[] = [];
		await run('manual', hints);
		const [again, , held] = await run('manual', hints);
		expect(held).toHaveLength(0);
		expect(meta(again[0])).toMatchObject({ outcome: 'new', reason: 'first_seen' });
		expect(hints).toHaveLength(0);
	});

	it('with the option off: held, with a hint naming the cause and the fix, in manual runs only', async () => {
		const hints: NodeExecutionHint[] = [];
		const off = { testRunsTakeOver: false };
		const [first] = await run('manual', hints, off);
		expect(first).toHaveLength(1);
		expect(hints).toHaveLength(0);
		const [, , held] = await run('manual', hints, off);
		expect(meta(held[0]).reason).toBe('in_progress');
		expect(hints).toHaveLength(1);
		expect(hints[0].message).toMatch(/earlier test run.*nothing marked it processed/);
		expect(hints[0].message).toMatch(/Test Runs Take Over Their Own Claims.*Mark Processed/);
		await run('webhook', hints, off);
		expect(hints).toHaveLength(1);
	});
});

describe('the credential test', () => {
	it('is OK without warnings, and shows every warning (as Error, saying the credential works)', () => {
		expect(credentialTestResult('Connected', [undefined])).toEqual({ status: 'OK', message: 'Connected' });
		const result = credentialTestResult('Connected to 127.0.0.1:6379', ['persistence is off', 'Warning: maxmemory-policy allkeys-lru evicts keys']);
		expect(result.status).toBe('Error');
		expect(result.message.split('\n').slice(0, 2)).toEqual(['Warning: persistence is off', 'Warning: maxmemory-policy allkeys-lru evicts keys']);
		expect(result.message).toContain('The credential itself works (Connected to 127.0.0.1:6379)');
	});

	it('a Redis without persistence: red with what is lost and how to accept it; green once accepted', async () => {
		const client = new Redis(REDIS_URL);
		const [, appendonly] = (await client.config('GET', 'appendonly')) as string[];
		const [, save] = (await client.config('GET', 'save')) as string[];
		await client.quit();
		const test = (data: Record<string, unknown>) => credentialTest.idempotencyRedisApiTest.call({} as never, { id: '1', name: 'r', type: 'idempotencyRedisApi', data: data as never });
		const accepted = await test(redisCredential(prefix));
		const notAccepted = await test({ ...redisCredential(prefix), allowNoPersistence: false });
		if (appendonly === 'no' && !save) {
			expect(notAccepted.status).toBe('Error');
			expect(notAccepted.message).toMatch(/has appendonly no, save ""\. It keeps nothing on disk/);
			expect(notAccepted.message).toMatch(/turn on "Allow No Persistence"/);
			expect(accepted).toMatchObject({ status: 'OK', message: expect.stringMatching(/Accepted in the credential: .*keeps nothing on disk/) });
		} else {
			expect(accepted).toMatchObject({ status: 'OK' });
		}
	});
});

describe('a store that may lose acknowledged writes', () => {
	let server: PrivateRedis;
	beforeAll(async () => {
		server = await startRedis(['--save', '3600 1']);
	});
	afterAll(() => server.stop());

	it('says so above the output of the Guard and the Ledger, until the credential accepts it', async () => {
		const run = async (accept: boolean) => {
			const hints: NodeExecutionHint[] = [];
			const redis = { ...redisCredential(prefix), host: server.host, port: server.port, allowNoPersistence: false, acceptCrashLoss: accept };
			const context = (node: 'guard' | 'ledger') =>
				mockContext({
					items: [{ json: { email: `rdb-${accept}@b.c` } }],
					parameters:
						node === 'guard'
							? { store: 'redis', namespace, keySource: 'fields', keyFields: 'email', fingerprint: 'none', options: {} }
							: { store: 'redis', namespace, operation: 'get', keySource: 'explicit', key: `rdb-${accept}@b.c` },
					credentials: { ...credentials, idempotencyRedisApi: redis },
					extra: { addExecutionHints: (...h: NodeExecutionHint[]) => hints.push(...h) },
				});
			const [isNew] = await new IdempotencyGuard().execute.call(context('guard'));
			expect(isNew).toHaveLength(1);
			await new StateLedger().execute.call(context('ledger'));
			return hints;
		};
		const warned = await run(false);
		expect(warned).toHaveLength(2);
		for (const hint of warned) {
			expect(hint).toMatchObject({ type: 'warning', location: 'outputPane' });
			expect(hint.message).toMatch(/may lose writes it acknowledged.*save "3600 1" \(RDB snapshots only\).*"Accept Loss on Crash or Failover"/);
		}
		expect(await run(true)).toEqual([]);
	});
});

describe('after Mark Processed', () => {
	it('_idempotency.state says processed', async () => {
		const [fresh] = await new IdempotencyGuard().execute.call(guardContext([{ json: { email: 'p@b.c' } }], { keyFields: 'email' }));
		expect(meta(fresh[0]).state).toBe('processing');
		const extra = { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) };
		const [applied] = await new StateLedger().execute.call(
			mockContext({ items: fresh, parameters: { store: 'postgres', operation: 'markProcessed', keySource: 'metadata', result: '{}', options: {} }, credentials, extra }),
		);
		expect((applied[0].json.ledger as IDataObject).state).toBe('processed');
		expect(meta(applied[0]).state).toBe('processed');
	});
});

describe('as an AI agent tool', () => {
	it('returns Applied and Rejected items on the one output the agent sees', async () => {
		const [fresh] = await new IdempotencyGuard().execute.call(guardContext([{ json: { email: 't@b.c' } }], { keyFields: 'email' }));
		const items = [fresh[0], { json: { ...fresh[0].json, _idempotency: { ...meta(fresh[0]), claimToken: 'not-the-token' } } }];
		const extra = {
			getParentNodes: () => [],
			getWorkflowDataProxy: () => ({}),
			getNode: () => nodeWith({}, { idempotencyPostgresApi: { id: 'c', name: 'pg' } }, 'n8n-nodes-idempotency.stateLedgerTool'),
		};
		const outputs = await new StateLedger().execute.call(
			mockContext({ items, parameters: { store: 'postgres', operation: 'markProcessed', keySource: 'metadata', result: '{}', options: {} }, credentials, extra }),
		);
		expect(outputs).toHaveLength(1);
		expect(outputs[0].map((i) => (i.json.ledger as IDataObject).applied)).toEqual([true, false]);
	});

	it('the Guard is not offered as a tool; the Ledger and the Router are', () => {
		expect(new IdempotencyGuard().description.usableAsTool).toBeUndefined();
		expect(new StateLedger().description.usableAsTool).toBe(true);
		expect(new ExceptionRouter().description.usableAsTool).toBe(true);
	});
});
