// The store code of an earlier release, for tests that write data exactly as that release did and
// read it with this one (existing data stays readable). It is kept in the repository as a fixture
// (test/store/fixtures/store-349ccdb.tar.gz = `git archive 349ccdb nodes/shared`), so the tests
// need no git history: a shallow clone or a source tarball runs them too.

import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';

/** The last commit before the short Redis record layout, packed history and cluster buckets. */
export const RELEASED_COMMIT = '349ccdbafc6fbc2ef4a8bcb7035c51979af04e66';
const REPO = resolve(__dirname, '../..');
const ARCHIVE = join(REPO, 'test/store/fixtures/store-349ccdb.tar.gz');

/** The folder that holds `nodes/shared` of RELEASED_COMMIT (extracted once per machine). */
export function releasedTree(): string {
	const dir = join(tmpdir(), `idem-released-store-${RELEASED_COMMIT.slice(0, 12)}`);
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
	return dir;
}

/** A file of the released tree, by its path in the repository (e.g. `nodes/shared/store/redis/lua/claim.lua`). */
export function releasedFile(path: string): string {
	return readFileSync(join(releasedTree(), path), 'utf8');
}
