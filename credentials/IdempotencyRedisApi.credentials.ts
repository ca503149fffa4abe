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
	];
}
