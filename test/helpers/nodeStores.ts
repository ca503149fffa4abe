// The stores behind a node test file: its own Postgres schema and Redis key prefix, the two
// credentials that point at them, a fresh namespace per test, and everything removed after the
// file (pools closed, schema dropped, prefix deleted).

import { closeAllStores } from '../../nodes/shared/store/registry';
import { postgresCredential, redisCredential } from './n8nContext';
import { dropSchema, uniqueSchema } from './postgres';
import { deletePrefix, uniquePrefix } from './redis';

export function nodeTestStores(name: string, namespacePrefix: string, onNamespace: (namespace: string) => void) {
	const schema = uniqueSchema(name);
	const prefix = uniquePrefix(name);
	const credentials = { idempotencyPostgresApi: postgresCredential(schema), idempotencyRedisApi: redisCredential(prefix) };
	let n = 0;
	afterAll(async () => {
		await closeAllStores();
		await dropSchema(schema);
		await deletePrefix(prefix);
	});
	beforeEach(() => onNamespace(`${namespacePrefix}-${Date.now()}-${n++}`));
	return { schema, prefix, credentials };
}
