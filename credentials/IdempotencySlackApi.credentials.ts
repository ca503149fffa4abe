import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * The Slack app whose buttons resolve exceptions: its signing secret proves that a click sent to
 * the workflow's Webhook comes from Slack (the Exception Router's Resolve From Slack Action).
 * Our own credential: n8n's Slack credential holds an API token, not this secret.
 */
export class IdempotencySlackApi implements ICredentialType {
	name = 'idempotencySlackApi';

	displayName = 'Idempotency Slack App';

	icon: Icon = 'file:idempotencySlack.svg';

	documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-idempotency#resolve-from-slack';

	// Tested by the Exception Router's methods.credentialTest: the secret's form only, since Slack
	// offers no call that checks a signing secret; a real click is the full test.
	properties: INodeProperties[] = [
		{
			displayName: 'Signing Secret',
			name: 'signingSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Your Slack app → Basic Information → App Credentials → Signing Secret (not the bot token)',
		},
	];
}
