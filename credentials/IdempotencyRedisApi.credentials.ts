import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** Where the idempotency records live when the store is Redis (standalone or Cluster). */
export class IdempotencyRedisApi implements ICredentialType {
	name = 'idempotencyRedisApi';

	displayName = 'Idempotency Store (Redis)';

	icon: Icon = 'file:idempotencyRedis.svg';

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-idempotency#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Mode',
			name: 'mode',
			type: 'options',
			options: [
				{ name: 'Standalone', value: 'standalone' },
				{ name: 'Cluster', value: 'cluster' },
			],
			default: 'standalone',
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { mode: ['standalone'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 6379,
			displayOptions: { show: { mode: ['standalone'] } },
		},
		{
			displayName: 'Cluster Nodes',
			name: 'clusterNodes',
			type: 'string',
			default: '',
			placeholder: 'redis-1:6379, redis-2:6379, redis-3:6379',
			description: 'Comma-separated host:port of one or more cluster nodes; the rest are discovered',
			displayOptions: { show: { mode: ['cluster'] } },
		},
		{ displayName: 'Username', name: 'username', type: 'string', default: '', description: 'Leave empty unless Redis ACL users are set up' },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'Database',
			name: 'database',
			type: 'number',
			default: 0,
			description: 'Database number (standalone only; Redis Cluster has only database 0)',
		},
		{ displayName: 'TLS', name: 'tls', type: 'boolean', default: false },
		{
			displayName: 'Key Prefix',
			name: 'keyPrefix',
			type: 'string',
			default: 'idem:',
			description: 'Prepended to every key this package writes, so it cannot touch other data in the same Redis',
		},
		{
			displayName: 'Allow Eviction',
			name: 'allowEviction',
			type: 'boolean',
			default: false,
			description:
				'Whether to claim keys even when this Redis may evict keys (maxmemory-policy other than noeviction, or a policy that cannot be read). An evicted record makes the next delivery of an already processed event new again: a second write. Leave off and set maxmemory-policy to noeviction instead.',
		},
		{
			displayName: 'Allow No Persistence',
			name: 'allowNoPersistence',
			type: 'boolean',
			default: false,
			description:
				'Whether to claim keys even when this Redis keeps nothing on disk (appendonly no and no save points). Such a Redis forgets every claim and every processed key on any restart: each event is new again, a second write. Only for a test or demo Redis; otherwise turn on AOF (appendonly yes).',
		},
		{
			displayName: 'Accept Loss on Crash or Failover',
			name: 'acceptCrashLoss',
			type: 'boolean',
			default: false,
			description:
				'Whether you accept the durability warnings of the credential test: writes lost on a crash or failover your Redis setup allows (RDB snapshots only, AOF without appendfsync always, replicas writes do not wait for, settings Redis does not let us read). Accepted, the test is green and the nodes show no warning.',
		},
		{
			displayName: 'Require Durability',
			name: 'requireDurability',
			type: 'boolean',
			default: false,
			description: 'Whether to refuse claims unless Redis has AOF on (appendonly yes) on every node, checked at first use and after every reconnect',
		},
		{
			displayName: 'Wait for Replicas',
			name: 'waitForReplicas',
			type: 'options',
			options: [
				{
					name: 'Automatic',
					value: 'auto',
					description: 'Wait for one replica when the primary has replicas, so a failover keeps every acknowledged write',
				},
				{ name: 'A Number of Replicas', value: 'count', description: 'Wait for the number of replicas set below' },
				{ name: 'None', value: 'none', description: 'Do not wait: a failover can lose the last writes' },
			],
			default: 'auto',
			description:
				'How many replicas must confirm each write (Redis WAIT) before the store answers. A claim they do not confirm in time is Ambiguous (not_replicated); a settlement fails as not confirmed.',
		},
		{
			displayName: 'Replicas to Wait For',
			name: 'replicasToWaitFor',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 16 },
			default: 1,
			displayOptions: { show: { waitForReplicas: ['count'] } },
		},
		{
			displayName: 'Replica Timeout (Ms)',
			name: 'replicaTimeout',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 10000 },
			default: 1000,
			description: 'How long a write waits for its replicas before it counts as not confirmed',
			displayOptions: { hide: { waitForReplicas: ['none'] } },
		},
	];
}
