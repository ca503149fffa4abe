// The store code of an earlier release, for tests that write data exactly as that release did and
// read it with this one (existing data stays readable). It is kept in the repository as a fixture
// (test/store/fixtures/store-349ccdb.tar.gz = `git archive 349ccdb nodes/shared`), so the tests
// need no git history: a shallow clone or a source tarball runs them too.

import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/** The last commit before the short Redis record layout, packed history and cluster buckets. */
export const RELEASED_COMMIT = '349ccdbafc6fbc2ef4a8bcb7035c51979af04e66';
const REPO = resolve(__dirname, '../..');
const ARCHIVE = join(REPO, 'test/store/fixtures/store-349ccdb.tar.gz');

/**
 * The folder that holds `nodes/shared` of RELEASED_COMMIT, extracted once per machine and checkout.
 * Its `node_modules` is a link to this checkout's: the folder is named after the checkout, and a
 * link left dangling (the checkout that made it was deleted, as a CI clone is) is made again, or
 * every `require` of the released code fails with no word of why.
 */
export function releasedTree(): string {
	const checkout = createHash('sha1').update(REPO).digest('hex').slice(0, 8);
	const dir = join(tmpdir(), `idem-released-store-${RELEASED_COMMIT.slice(0, 12)}-${checkout}`);
	if (!existsSync(join(dir, 'nodes'))) {
		const staging = mkdtempSync(join(tmpdir(), 'idem-released-'));
		execFileSync('tar', ['-xzf', ARCHIVE, '-C', staging]);
		symlinkSync(join(REPO, 'node_modules'), join(staging, 'node_modules'));
		try {
			renameSync(staging, dir);
		} catch {
			rmSync(staging, { recursive: true, force: true }); // another run put it there first
		}
	}
	const modules = join(dir, 'node_modules');
	if (!existsSync(join(modules, 'ioredis'))) {
		// dangling or pointing elsewhere: point it here, replacing the link in one rename
		const link = `${modules}.${process.pid}`;
		rmSync(link, { force: true });
		symlinkSync(join(REPO, 'node_modules'), link);
		renameSync(link, modules);
	}
	return dir;
}

/** A file of the released tree, by its path in the repository (e.g. `nodes/shared/store/redis/lua/claim.lua`). */
export function releasedFile(path: string): string {
	return readFileSync(join(releasedTree(), path), 'utf8');
}
