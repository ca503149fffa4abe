import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/** Where the idempotency records live when the store is Postgres. */
export class IdempotencyPostgresApi implements ICredentialType {
	name = 'idempotencyPostgresApi';

	displayName = 'Idempotency Store (Postgres)';

	icon: Icon = 'file:idempotencyPostgres.svg';

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-idempotency#credentials';

	// Tested by the nodes' methods.credentialTest (a database login, not an HTTP call).
	properties: INodeProperties[] = [
		{ displayName: 'Host', name: 'host', type: 'string', default: 'localhost', required: true },
		{ displayName: 'Port', name: 'port', type: 'number', default: 5432, required: true },
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'postgres',
			required: true,
			description: 'The database that holds the idempotency schema (it can be the same one n8n uses)',
		},
		{ displayName: 'User', name: 'user', type: 'string', default: 'postgres', required: true },
		{ displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Require', value: 'require', description: 'Encrypt, without checking the server certificate' },
				{ name: 'Verify Full', value: 'verify-full', description: 'Encrypt and verify the server certificate and host name' },
			],
			default: 'disable',
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: 'n8n_idempotency',
			description:
				'Schema for the idempotency tables. Created and migrated automatically on first use. Lowercase letters, digits and underscores only.',
		},
		{
			displayName: 'Max Connections',
			name: 'maxConnections',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 100 },
			default: 10,
			description: 'Size of the connection pool this credential shares across all executions of this n8n process',
		},
		{
			displayName: 'Require Synchronous Standby',
			name: 'requireSynchronousStandby',
			type: 'boolean',
			default: false,
			description:
				"Whether to refuse claims unless a standby confirms every commit (synchronous_standby_names set on the primary), so that a failover to a standby cannot lose a claim or a processed mark. Turn on when your Postgres fails over to standbys (Patroni, a managed HA service). Off: asynchronous standbys are a warning in the credential test and on the nodes.",
		},
	];
}
