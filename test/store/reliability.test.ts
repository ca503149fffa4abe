// The reliability suite (reliability.conformance.ts) on every store: the real Postgres, the real
// Redis and the embedded PGlite, each on its own schema / key prefix / data folder.

import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createEmbeddedStore } from '../../nodes/shared/store/embedded/EmbeddedStore';
import { RedisStore } from '../../nodes/shared/store/redis/RedisStore';
import { dropSchema, postgresTestStore, uniqueSchema } from '../helpers/postgres';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis';
import { describeReliabilityConformance } from './reliability.conformance';

describeReliabilityConformance('Postgres', async () => {
	const schema = uniqueSchema('reliability');
	const store = postgresTestStore(schema, 4);
	return {
		store,
		openPeer: async () => postgresTestStore(schema, 1),
		cleanup: async () => {
			await store.close();
			await dropSchema(schema);
		},
	};
});

describeReliabilityConformance('Redis', async () => {
	const prefix = uniquePrefix('reliability');
	const url = new URL(REDIS_URL);
	const open = () =>
		new RedisStore({ host: url.hostname, port: Number(url.port || 6379), database: 0, tls: false, keyPrefix: prefix, mode: 'standalone' });
	const store = open();
	return {
		store,
		openPeer: async () => open(),
		cleanup: async () => {
			await store.close();
			await deletePrefix(prefix);
		},
	};
});

describeReliabilityConformance('Embedded (PGlite)', async () => {
	const dir = mkdtempSync(join(tmpdir(), 'idem-embedded-reliability-'));
	const store = createEmbeddedStore(dir);
	return {
		store,
		openPeer: async () => store,
		cleanup: async () => {
			await store.close();
			rmSync(dir, { recursive: true, force: true });
		},
	};
});
