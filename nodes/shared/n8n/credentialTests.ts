// The credential tests behind the "Test" button of both credentials: a real login (and write
// permission check, or PING), through a short-lived store that is closed afterwards.
//
// n8n's credential dialog shows only "Connection tested successfully" for status OK — the
// message is dropped — and shows the message only for status Error, under "Couldn't connect
// with these settings". So: a store that works and whose risks are all fixed or accepted in the
// credential (Allow Eviction, Allow No Persistence, Accept Loss on Crash or Failover) is OK;
// a store that works but has a risk nobody accepted (RDB snapshots only, …) is reported as Error
// with a message that starts with "Warning:", says exactly what is and is not safe, how to fix or
// accept it, and that the credential works (n8n saves the credential and runs workflows with it
// either way). A store that refuses claims (a Redis without persistence) fails with why.

import type { ICredentialsDecrypted, ICredentialTestFunction, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { BACKENDS, CREDENTIAL_KINDS, openStore, storeConfig, type WarningCheck } from '../store/backends';
import { messageWithHint } from '../store/errors';
import type { IdempotencyStore } from '../store/types';

/** What the dialog shows: OK without warnings; otherwise every warning, one per line. */
export function credentialTestResult(message: string, warnings: ReadonlyArray<string | undefined>): INodeCredentialTestResult {
	const list = warnings.filter((w): w is string => typeof w === 'string' && w.trim().length > 0);
	if (list.length === 0) return { status: 'OK', message };
	const lines = list.map((w) => `Warning: ${w.replace(/^Warning:\s*/i, '')}`);
	return {
		status: 'Error',
		message: `${lines.join('\n')}\nThe credential itself works (${message}); n8n can show a warning only under this heading.`,
	};
}

async function testStore(open: () => IdempotencyStore, checks: readonly WarningCheck[]): Promise<INodeCredentialTestResult> {
	let store: IdempotencyStore | null = null;
	try {
		store = open();
		const health = await store.health();
		if (!health.ok) return { status: 'Error', message: health.message };
		const opened = store;
		const more = await Promise.all(checks.map((check) => check(opened).catch(() => undefined)));
		return credentialTestResult(health.message, [health.warning, ...more]);
	} catch (error) {
		return { status: 'Error', message: messageWithHint(error) };
	} finally {
		await store?.close().catch(() => undefined);
	}
}

/**
 * One test per credential of the backend table, named `<credential type>Test` (what the nodes'
 * `testedBy` names): e.g. idempotencyPostgresApiTest. Its extra checks are the row's.
 */
export const credentialTest: Record<string, ICredentialTestFunction> = Object.fromEntries(
	CREDENTIAL_KINDS.map((kind) => {
		const credential = BACKENDS[kind].credential;
		const test: ICredentialTestFunction = async function (this: ICredentialTestFunctions, decrypted: ICredentialsDecrypted) {
			const config = storeConfig(kind, decrypted.data ?? {});
			return testStore(() => openStore(config, 'test'), credential.warningChecks);
		};
		return [`${credential.type}Test`, test];
	}),
);

/**
 * The Idempotency Slack App credential: Slack has no call that checks a signing secret, so this
 * checks its form only (Slack's are 32 hexadecimal characters); a real button click is the test.
 */
export const slackCredentialTest: Record<string, ICredentialTestFunction> = {
	idempotencySlackApiTest: async function (this: ICredentialTestFunctions, decrypted: ICredentialsDecrypted) {
		const secret = String(decrypted.data?.signingSecret ?? '');
		if (!secret.trim()) return { status: 'Error', message: 'The signing secret is empty' };
		if (secret !== secret.trim()) return { status: 'Error', message: 'The signing secret starts or ends with a space: copy it again without' };
		if (!/^[0-9a-f]{32}$/i.test(secret)) {
			return { status: 'Error', message: 'Warning: a Slack signing secret is 32 hexadecimal characters; this one is not. Check it is the Signing Secret, not the bot token or the verification token.' };
		}
		return { status: 'OK', message: 'The signing secret has the form Slack uses; a button click checks it for real' };
	},
};
