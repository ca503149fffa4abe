// How the Postgres store judges what it read from the server (store/postgres/durability.ts): every
// combination a client can see, and the session setting it raises synchronous_commit with.

import { judgeDurability, sessionSetupSql, type PostgresDurabilitySettings } from '../../nodes/shared/store/postgres/durability';

const base: PostgresDurabilitySettings = { synchronousCommit: 'on', synchronousStandbyNames: '', fsync: 'on', inRecovery: false, standbys: { count: 0, synchronous: 0 } };
const judged = (over: Partial<PostgresDurabilitySettings>, require = false) =>
	judgeDurability({ ...base, ...over }, require).map((f) => `${f.level}: ${f.setting}`);

describe('Postgres durability findings', () => {
	it.each<[string, Partial<PostgresDurabilitySettings>, boolean, string[]]>([
		['one server, defaults', {}, false, []],
		['one server, required', {}, true, ["refuse: synchronous_standby_names ''"]],
		['async standbys', { standbys: { count: 2, synchronous: 0 } }, false, ["warn: synchronous_standby_names '' with 2 asynchronous standbys"]],
		['async standbys, state hidden from the user', { standbys: { count: 1, synchronous: null } }, false, ["warn: synchronous_standby_names '' with 1 asynchronous standby"]],
		['async standbys, required', { standbys: { count: 1, synchronous: 0 } }, true, ["refuse: synchronous_standby_names '' with 1 asynchronous standby"]],
		['standbys unreadable', { standbys: { unreadable: 'permission denied' } }, false, ["unknown: synchronous_standby_names '' (standbys unknown)"]],
		['standbys unreadable, required', { standbys: { unreadable: 'permission denied' } }, true, ["refuse: synchronous_standby_names '' (standbys unknown)"]],
		['synchronous standby', { synchronousStandbyNames: 'ANY 1 (a, b)', standbys: { count: 2, synchronous: 2 } }, true, []],
		['synchronous standby, unreadable standbys: the settings alone make a commit wait', { synchronousStandbyNames: '*', standbys: { unreadable: 'x' } }, true, []],
		['synchronous standby named, commits local', { synchronousStandbyNames: '*', synchronousCommit: 'local' }, false, ["warn: synchronous_commit local with synchronous_standby_names '*'"]],
		['remote_write waits for the standby too', { synchronousStandbyNames: '*', synchronousCommit: 'remote_write' }, true, []],
		['fsync off', { fsync: 'off' }, false, ['warn: fsync off']],
		['synchronous_commit off (a pooler dropped the store’s SET)', { synchronousCommit: 'off' }, false, ['warn: synchronous_commit off']],
	])('%s', (_label, over, require, expected) => {
		expect(judged(over, require)).toEqual(expected);
	});

	it('names the setting, the risk and the fix in every finding', () => {
		for (const finding of judgeDurability({ ...base, fsync: 'off', synchronousCommit: 'off', standbys: { count: 1, synchronous: 0 } }, true)) {
			expect([finding.setting.length > 5, finding.risk.length > 30, finding.fix.length > 30]).toEqual([true, true, true]);
		}
	});

	it('raises synchronous_commit for its own sessions and never lowers it', () => {
		expect(sessionSetupSql(false)).toContain(`WHEN 'off' THEN 'local'`);
		expect(sessionSetupSql(false)).not.toContain(`THEN 'on'`);
		expect(sessionSetupSql(true)).toContain(`WHEN 'local' THEN 'on'`);
		expect(sessionSetupSql(true)).toContain(`ELSE current_setting('synchronous_commit')`);
	});
});
