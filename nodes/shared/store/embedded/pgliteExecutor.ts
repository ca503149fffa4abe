// How the embedded store runs SQL on PGlite. Scripts without parameters (the migrations) go
// through exec, the simple protocol; other statements through query, PGlite's extended protocol
// with an unnamed statement: parsed and planned again on every call, in six protocol round trips.
// A statement the store names (the claim, the transition: see PostgresStore) is instead prepared
// once per PGlite instance, as a named statement, and each call then sends Bind/Execute/Sync in
// one message — as pg does on a Postgres server. The claim statement plans in several times the
// time a one-key claim takes to run, so on PGlite this is most of a single claim's latency.

import type { Query, SqlExecutor } from '../postgres/executor';

interface PGliteQueries {
	query<R>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
	exec(text: string): Promise<Array<{ rows: unknown[] }>>;
}

interface BackendMessage {
	name: string;
}

/** The parts of a PGlite instance the executor uses (@electric-sql/pglite 0.5). */
export interface PGliteLike extends PGliteQueries {
	transaction<T>(work: (tx: PGliteQueries) => Promise<T>): Promise<T>;
	close(): Promise<void>;
	waitReady: Promise<void>;
	execProtocol?(message: Uint8Array, options?: { syncToFs?: boolean }): Promise<{ messages: BackendMessage[] }>;
	serializers?: Record<number, (value: unknown) => string>;
	parsers?: Record<number, (text: string, typeId: number) => unknown>;
	// PGlite's own query() holds both locks: the transaction lock (no statement of ours lands inside
	// another caller's open transaction) and the query lock (one protocol exchange at a time).
	_runExclusiveTransaction?<T>(work: () => Promise<T>): Promise<T>;
	_runExclusiveQuery?<T>(work: () => Promise<T>): Promise<T>;
}

/** The module's protocol helpers, `import('@electric-sql/pglite')`'s `protocol` and `parse`. */
export interface PGliteProtocol {
	protocol: {
		serialize: {
			parse(options: { name: string; text: string }): Uint8Array;
			describe(options: { type: 'S' | 'P'; name?: string }): Uint8Array;
			bind(options: { statement: string; values: Array<string | null> }): Uint8Array;
			execute(options: Record<string, never>): Uint8Array;
			sync(): Uint8Array;
		};
	};
	parse: {
		parseDescribeStatementResults(messages: BackendMessage[]): number[];
		parseResults(messages: BackendMessage[], parsers: Record<number, unknown>): Array<{ rows: unknown[] }>;
	};
}

function concat(parts: Uint8Array[]): Uint8Array {
	const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
	let at = 0;
	for (const part of parts) {
		out.set(part, at);
		at += part.length;
	}
	return out;
}

async function run<R>(db: PGliteQueries, text: string, values: unknown[]): Promise<R[]> {
	if (values.length === 0) {
		const results = await db.exec(text);
		return (results[results.length - 1]?.rows ?? []) as R[];
	}
	return (await db.query<R>(text, values)).rows;
}

/**
 * Named statements on one PGlite instance: prepared on first use (Parse + Describe, remembering
 * the parameter types to serialise the values as PGlite's query() does), then Bind/Execute/Sync.
 * Returns null when this PGlite build lacks the protocol entry points: then every statement runs
 * unnamed, as before.
 */
export function namedStatements(db: PGliteLike, pglite: Partial<PGliteProtocol>) {
	const { execProtocol, serializers, parsers, _runExclusiveTransaction, _runExclusiveQuery } = db;
	const { protocol, parse } = pglite;
	if (!execProtocol || !serializers || !parsers || !_runExclusiveTransaction || !_runExclusiveQuery || !protocol || !parse) return null;
	const serialize = protocol.serialize;
	const exchange = (parts: Uint8Array[], syncToFs: boolean) => execProtocol.call(db, concat([...parts, serialize.sync()]), { syncToFs });
	const prepared = new Map<string, number[]>();
	return async <R>(name: string, text: string, values: unknown[]): Promise<R[]> =>
		_runExclusiveTransaction.call<PGliteLike, [() => Promise<R[]>], Promise<R[]>>(db, () =>
			_runExclusiveQuery.call<PGliteLike, [() => Promise<R[]>], Promise<R[]>>(db, async () => {
				let types = prepared.get(name);
				if (!types) {
					// A failed Parse throws here and prepares nothing; the next call tries again.
					const described = await exchange([serialize.parse({ name, text }), serialize.describe({ type: 'S', name })], false);
					types = parse.parseDescribeStatementResults(described.messages);
					prepared.set(name, types);
				}
				const params = values.map((value, i) => {
					if (value === null || value === undefined) return null;
					const serializer = serializers[types[i]];
					return serializer ? serializer(value) : String(value);
				});
				// Sync ends the exchange even when Bind or Execute fails (the error is thrown after it),
				// so the session is ready for the next statement. Outside a transaction: write to disk.
				const result = await exchange([serialize.bind({ statement: name, values: params }), serialize.describe({ type: 'P' }), serialize.execute({})], true);
				return (parse.parseResults(result.messages, parsers)[0]?.rows ?? []) as R[];
			}),
		);
}

export interface OpenedPGlite {
	db: PGliteLike;
	/** The loaded module, for its protocol helpers. */
	pglite: Partial<PGliteProtocol>;
}

/**
 * An executor over the PGlite instance `open()` resolves to (the same one on every call until
 * `close()`); named statements are prepared per instance.
 */
export function pgliteExecutor(open: () => Promise<OpenedPGlite>, close: () => Promise<void>): SqlExecutor {
	const named = new WeakMap<PGliteLike, ReturnType<typeof namedStatements>>();
	const query: Query = async <R>(text: string, values: unknown[] = [], name?: string) => {
		const { db, pglite } = await open();
		if (!name || values.length === 0) return run<R>(db, text, values);
		if (!named.has(db)) named.set(db, namedStatements(db, pglite));
		const runNamed = named.get(db);
		return runNamed ? runNamed<R>(name, text, values) : run<R>(db, text, values);
	};
	return {
		query,
		async transaction<T>(work: (q: Query) => Promise<T>): Promise<T> {
			const { db } = await open();
			return db.transaction((tx) => work(async <R>(text: string, values: unknown[] = []) => run<R>(tx, text, values)));
		},
		close,
	};
}
