// What the embedded store says when its folder may not be written: the system's EACCES / EPERM /
// EROFS turned into an error naming the folder, its owner, this process's user and the fix. Used
// where the store first writes in the folder: making it (workerExecutor.ts) and publishing its
// lock socket there (folderLock.ts).

import { accessSync, constants, statSync } from 'fs';
import { dirname, resolve } from 'path';
import { StoreMisconfiguredError } from '../errors';

/** The system error code (EACCES, ENOENT…) of an error, if it has one. */
export function errorCode(error: unknown): string | undefined {
	return (error as NodeJS.ErrnoException)?.code;
}

/**
 * A folder this process may not write in (made by n8n running as another user, or a read-only
 * mount): the error to show instead of the system's, with whose it is and what to do. A folder
 * that does not exist yet is refused by the nearest folder above it that does: that one is named.
 */
export function notWritable(dir: string, error: unknown): unknown {
	let code = errorCode(error);
	let existing = resolve(dir);
	for (;;) {
		try {
			statSync(existing);
			break;
		} catch {
			if (dirname(existing) === existing) break;
			existing = dirname(existing);
		}
	}
	const missing = existing !== resolve(dir);
	// mkdir -p of a folder missing on a read-only mount fails with ENOENT (Node looks at the path
	// again after EROFS): ask the folder it would be made in why it may not be written.
	if (missing && code === 'ENOENT') {
		try {
			accessSync(existing, constants.W_OK);
		} catch (denied) {
			code = errorCode(denied);
		}
	}
	if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return error;
	if (code === 'EROFS') {
		return new StoreMisconfiguredError(
			`The embedded store's folder ${dir} is on a read-only filesystem (${code}); the embedded store needs to write there.`,
			'Mount the n8n user folder writable, or set N8N_USER_FOLDER to a writable folder; or set Store to Postgres or Redis.',
		);
	}
	let uid: number | undefined;
	try {
		uid = statSync(existing).uid;
	} catch {
		// Unknown.
	}
	const owner = uid === undefined ? '' : `, owned by user id ${uid}`;
	const selfUid = process.getuid?.();
	const self = selfUid === undefined ? '' : ` (user id ${selfUid})`;
	if (missing) {
		return new StoreMisconfiguredError(
			`The embedded store's folder ${dir} does not exist, and this n8n${self} may not create it in ${existing}${owner} (${code}).`,
			`Create the folder and give it to the user n8n runs as (for example: mkdir -p ${dir} && chown -R node:node ${dir}), or set N8N_USER_FOLDER to a folder that user may write in; or set Store to Postgres or Redis.`,
		);
	}
	if (uid !== undefined && uid === selfUid) {
		return new StoreMisconfiguredError(
			`The embedded store's folder ${dir}${owner}, may not be written by this n8n${self} (${code}): it is this user's folder, but its permissions or attributes do not let it write there.`,
			`Let its owner write in it (for example: chmod u+rwx ${dir}), or set Store to Postgres or Redis.`,
		);
	}
	return new StoreMisconfiguredError(
		`The embedded store's folder ${dir}${owner}, may not be written by this n8n${self} (${code}): an n8n running as another user probably created it.`,
		`Give the folder to the user n8n runs as (for example: chown -R node:node ${dir}), or set Store to Postgres or Redis.`,
	);
}
