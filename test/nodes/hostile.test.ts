// The hostile input catalogue (docs/CONTRACT.md §8): table-driven cases over keys, namespaces, results,
// parameters and store names, through the nodes and the real Postgres and Redis. Each case must
// end in a clear error that names the item (or setting) or in a correct routing — never a crash,
// an injection, a silent New for a bad key, or a store left changed by a refused item.

import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { IdempotencyGuard } from '../../nodes/IdempotencyGuard/IdempotencyGuard.node';
import { StateLedger } from '../../nodes/StateLedger/StateLedger.node';
import { InvalidInputError } from '../../nodes/shared/store/errors';
import { validateKeyPrefix, validateSchemaName } from '../../nodes/shared/store/identifiers';
import { closeAllStores } from '../../nodes/shared/store/registry';
import { mockContext, postgresCredential, redisCredential, type ParameterValue } from '../helpers/n8nContext';
import { dropSchema, sql, uniqueSchema } from '../helpers/postgres';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../nodes/shared/store/backends';

const schema = uniqueSchema('hostile');
const prefix = `test:hostile:${randomUUID().slice(0, 8)}:`;
const credentials = { idempotencyPostgresApi: postgresCredential(schema), idempotencyRedisApi: redisCredential(prefix) };

afterAll(async () => {
	await closeAllStores();
	await dropSchema(schema);
	const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
	const redis = new Redis({ host: url.hostname, port: Number(url.port || 6379) });
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		cursor = next;
		if (keys.length) await redis.del(...keys);
	} while (cursor !== '0');
	await redis.quit();
});

let deep: IDataObject = { leaf: 'x' };
for (let i = 0; i < 2000; i++) deep = { d: deep };
const MB = 'm'.repeat(1024 * 1024);

const injection = [
	`'; DROP TABLE records; --`,
	`'); DELETE FROM history; --`,
	`" OR ""="`,
	`$$; DROP SCHEMA public CASCADE; $$`,
	`\\'; SELECT pg_sleep(5); --`,
	`%' OR key LIKE '%`,
	`]]; redis.call('FLUSHALL'); --[[`,
	`") redis.call("DEL", KEYS[1]) --`,
	`{hash}:r:victim`,
	'*',
	'?',
	'\\',
	'`rm -rf /`',
	'${process.exit()}',
	'{{ $env.SECRET }}',
	'<script>alert(1)</script>',
	'<!channel> <@U123>',
];
const textual = [
	'bell \u0007 and escape \u001b[31m',
	'tab\tnewline\ncarriage\r',
	'nul\u0000inside',
	'lone \ud800 surrogate',
	'lone \udc00 low surrogate',
	'zero\u200bwidth',
	'rtl \u202e override',
	'emoji 🧾🔥 and 中文 and ελληνικά',
	'ﬁ ligature and ① circled (NFKC)',
	'x'.repeat(256),
	'y'.repeat(257),
	'z'.repeat(10_000),
	MB,
];
const odd: Array<[string, unknown]> = [
	['an empty string', ''],
	['whitespace only', '   \t  '],
	['null', null],
	['undefined', undefined],
	['NaN', Number.NaN],
	['Infinity', Number.POSITIVE_INFINITY],
	['-0', -0],
	['1e21', 1e21],
	['a big integer', 9007199254740993],
	['true', true],
	['an object', { a: 1 }],
	['an array', [1, 2]],
	['a deeply nested object', deep],
];

type StoreName = CredentialKind;

async function guard(store: StoreName, json: IDataObject, parameters: Record<string, ParameterValue> = {}) {
	const context = mockContext({
		items: [{ json }],
		parameters: { store, namespace: `hostile-${store}`, keySource: 'fields', keyFields: 'v', fingerprint: 'item', options: {}, ...parameters },
		credentials,
	});
	return new IdempotencyGuard().execute.call(context);
}

async function canaryIntact(): Promise<void> {
	const rows = await sql<{ n: string }>(`SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1`, [schema]);
	expect(Number(rows[0].n)).toBeGreaterThanOrEqual(4);
}

describe.each(CREDENTIAL_KINDS)('hostile input on %s', (store) => {
	describe('as key values', () => {
		it.each([...injection, ...textual].map((v) => [JSON.stringify(v.slice(0, 40)), v]))('routes %s as data: New, then in_progress on a repeat', async (_label, value) => {
			const [fresh] = await guard(store, { v: value });
			expect(fresh).toHaveLength(1);
			const meta = fresh[0].json._idempotency as IDataObject;
			const key = meta.key as string;
			expect(key.length).toBeLessThanOrEqual(256 + 7);
			const [again, , ambiguous] = await guard(store, { v: value });
			expect(again).toHaveLength(0);
			expect((ambiguous[0].json._idempotency as IDataObject).reason).toBe('in_progress');
			await canaryIntact();
		});

		it.each(odd)('handles %s without a crash or a silent New', async (label, value) => {
			const [fresh, , ambiguous] = await guard(store, { v: value as IDataObject });
			if (fresh.length === 1) {
				// Only real scalar values may become keys.
				expect(['-0', '1e21', 'a big integer', 'true']).toContain(label);
			} else {
				expect(ambiguous).toHaveLength(1);
				expect(ambiguous[0].json._idempotency).toMatchObject({ outcome: 'ambiguous', reason: 'missing_key', key: null });
				expect(typeof (ambiguous[0].json._idempotency as IDataObject).detail).toBe('string');
			}
		});
	});

	describe('as namespaces', () => {
		it.each(injection.map((v) => [v]))('keeps namespace %j apart from others', async (ns) => {
			const [fresh] = await guard(store, { v: 'same-key' }, { namespace: ns });
			expect(fresh).toHaveLength(1);
			expect((fresh[0].json._idempotency as IDataObject).namespace).toBe(ns);
		});

		it.each([
			['empty', ''],
			['blank', '   '],
			['over 200 characters', 'n'.repeat(201)],
			['1 MB', MB],
			['with a NUL', 'a\u0000b'],
			['with a lone surrogate', 'a\ud800b'],
			['an object', { a: 1 }],
			['null', null],
		])('refuses a namespace that is %s with a clear error naming the item', async (_label, ns) => {
			await expect(guard(store, { v: 'k' }, { namespace: ns })).rejects.toThrow(/^Item 0: Namespace/);
		});
	});

	describe('as Guard parameters', () => {
		it.each([
			['negative lease', { options: { leaseSeconds: -1 } }, /Lease/],
			['zero lease', { options: { leaseSeconds: 0 } }, /Lease/],
			['NaN lease', { options: { leaseSeconds: 'soon' } }, /Lease/],
			['negative retention', { options: { retentionDays: -3 } }, /Retention/],
			['zero max attempts', { options: { maxAttempts: 0 } }, /Max Attempts/],
			['negative wait', { options: { onInProgress: 'wait', waitSeconds: -1 } }, /Wait/],
			['no key fields', { keyFields: ' , , ' }, /No key fields/],
			['no fingerprint fields', { fingerprint: 'fields', fingerprintFields: '' }, /No fingerprint fields/],
		])('refuses %s with a clear error', async (_label, parameters, message) => {
			await expect(guard(store, { v: 'k' }, parameters as Record<string, ParameterValue>)).rejects.toThrow(message);
		});

		it.each([
			['odd field paths', { keyFields: 'a..b, [0], v' }],
			['a key expression returning an object', { keySource: 'expression', key: () => ({ a: 1 }) }],
			['a key expression returning injection', { keySource: 'expression', key: () => injection[0] }],
			['unknown option values', { options: { onInProgress: 'explode', onFailed: 'explode', onLeaseExpired: 'explode' } }],
		])('handles %s by routing, never crashing', async (_label, parameters) => {
			const outputs = await guard(store, { v: 'k', a: { b: 1 } }, parameters as Record<string, ParameterValue>);
			expect(outputs.flat()).toHaveLength(1);
		});
	});

	describe('as Ledger results', () => {
		async function markProcessed(result: unknown) {
			const [fresh] = await guard(store, { v: `r-${randomUUID()}` });
			const context = mockContext({
				items: fresh as INodeExecutionData[],
				parameters: { store, operation: 'markProcessed', keySource: 'metadata', result, options: {} },
				credentials,
				extra: { getParentNodes: () => [], getWorkflowDataProxy: () => ({}) },
			});
			return new StateLedger().execute.call(context);
		}

		it.each([
			['1 MB of JSON', { blob: MB }, /Result is \d+ bytes/],
			['malformed JSON', '{"a": ', /Result is not valid JSON/],
			['JSON with a trailing comma', '{"a": 1,}', /Result is not valid JSON/],
			['a bare word', 'contact-1', /Result is not valid JSON/],
		])('refuses %s, leaving the key processing', async (_label, result, message) => {
			await expect(markProcessed(result)).rejects.toThrow(message);
		});

		it.each([
			['injection in a value', { id: injection[0], lua: injection[6] }],
			['control characters', { id: 'a\u0007b\u001bc' }],
			['deeply nested (200 levels)', JSON.parse('{"a":'.repeat(200) + '1' + '}'.repeat(200))],
			['a number', 42],
			['a list', [1, 'two', { three: 3 }]],
			['unicode', { name: 'Zoë 🧾 中文' }],
			['61 KB', { blob: 'b'.repeat(61 * 1024) }],
		])('stores %s as data and hands it back to duplicates', async (_label, result) => {
			const [applied] = await markProcessed(result);
			expect(applied[0].json.ledger).toMatchObject({ applied: true, state: 'processed' });
		});
	});
});

describe('store names', () => {
	it.each([
		'bad-name',
		'UPPER',
		'"quoted"',
		'x; DROP SCHEMA public',
		'a'.repeat(64),
		'1starts_with_digit',
		'',
		'sch\u0000ema',
		'schéma',
		'pg_catalog ',
	])('refuses the Postgres schema %j', (name) => {
		expect(() => validateSchemaName(name)).toThrow(InvalidInputError);
	});

	it.each(['idem:{x}', 'a b', 'p'.repeat(65), 'new\nline', '*', 'pre}fix'])('refuses the Redis key prefix %j', (name) => {
		expect(() => validateKeyPrefix(name)).toThrow(InvalidInputError);
	});

	it.each(['n8n_idempotency', 'idem_2', '_private'])('accepts the schema %j', (name) => {
		expect(validateSchemaName(name)).toBe(name);
	});
});
