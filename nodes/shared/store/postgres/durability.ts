// Whether a write Postgres acknowledged survives a crash of the server and a failover to a
// standby, from what a client can see: synchronous_commit (of our own session), fsync,
// synchronous_standby_names, and the standbys streaming from this server (pg_stat_replication).
// Judged as docs/CONTRACT.md §12 "Store durability" says: loss that needs a crash or a failover
// the setup allows is a warning; with the credential's Require Synchronous Standby, a server
// where a failover can lose acknowledged writes is a refusal of claims.

import type { DurabilityFinding, DurabilityReport } from '../types';
import type { Query } from './executor';

/** What the store read from the server. */
export interface PostgresDurabilitySettings {
	/** Of the store's own session, after sessionSetupSql raised it. */
	synchronousCommit: string;
	synchronousStandbyNames: string;
	fsync: string;
	/** The store is connected to a standby (read only). */
	inRecovery: boolean;
	/** Standbys streaming from this server, or why they could not be read. */
	standbys: { count: number; synchronous: number | null } | { unreadable: string };
}

/**
 * Run on every new connection of the store: raises synchronous_commit for the store's own
 * sessions, never lowers it. `off` → `local`: a crash of the server then loses no acknowledged
 * write, at the cost of one WAL flush per commit (Postgres's default). With Require Synchronous
 * Standby, `off` / `local` → `on`: a commit also waits for the synchronous standby. Without it a
 * commit never starts waiting for a standby the user did not ask it to wait for (a stopped
 * standby would then stop every claim).
 */
export function sessionSetupSql(requireSynchronousStandby: boolean): string {
	const raised = requireSynchronousStandby ? `WHEN 'off' THEN 'on' WHEN 'local' THEN 'on'` : `WHEN 'off' THEN 'local'`;
	return `SELECT set_config('synchronous_commit', CASE current_setting('synchronous_commit') ${raised} ELSE current_setting('synchronous_commit') END, false)`;
}

export async function readDurabilitySettings(query: Query): Promise<PostgresDurabilitySettings> {
	const [row] = await query<{ synchronous_commit: string; synchronous_standby_names: string; fsync: string; in_recovery: boolean }>(
		`SELECT current_setting('synchronous_commit') AS synchronous_commit,
			current_setting('synchronous_standby_names') AS synchronous_standby_names,
			current_setting('fsync') AS fsync, pg_is_in_recovery() AS in_recovery`,
	);
	let standbys: PostgresDurabilitySettings['standbys'];
	try {
		// Every user sees one row per standby; its state columns only with pg_read_all_stats (pg_monitor).
		const [seen] = await query<{ count: string; visible: string; synchronous: string }>(
			`SELECT count(*) AS count, count(state) AS visible,
				count(*) FILTER (WHERE sync_state IN ('sync', 'quorum')) AS synchronous
			 FROM pg_stat_replication`,
		);
		const count = Number(seen.count);
		standbys = { count, synchronous: Number(seen.visible) === count ? Number(seen.synchronous) : null };
	} catch (error) {
		standbys = { unreadable: (error as Error).message };
	}
	return {
		synchronousCommit: row.synchronous_commit,
		synchronousStandbyNames: row.synchronous_standby_names.trim(),
		fsync: row.fsync,
		inRecovery: row.in_recovery === true,
		standbys,
	};
}

/** What the store saw, in one line, e.g. `synchronous_commit on, fsync on, synchronous_standby_names '', 1 standby (asynchronous)`. */
export function describeSettings(settings: PostgresDurabilitySettings): string {
	const parts = [
		`synchronous_commit ${settings.synchronousCommit}`,
		`fsync ${settings.fsync}`,
		`synchronous_standby_names '${settings.synchronousStandbyNames}'`,
	];
	const s = settings.standbys;
	if ('unreadable' in s) parts.push('standbys not visible (pg_stat_replication could not be read)');
	else if (s.count === 0) parts.push('no standby streaming from it');
	else if (s.synchronous === null) parts.push(`${s.count} standby${s.count === 1 ? '' : 's'} streaming (sync state not visible to this user)`);
	else parts.push(`${s.count} standby${s.count === 1 ? '' : 's'} streaming, ${s.synchronous} synchronous`);
	if (settings.inRecovery) parts.push('this server is a standby (read only)');
	return parts.join(', ');
}

const COMMIT_WAITS_FOR_STANDBY = new Set(['on', 'remote_write', 'remote_apply']);
const FAILOVER_FIX =
	"On the primary, name the standbys that must confirm each commit: synchronous_standby_names = 'ANY 1 (standby1, standby2)' " +
	'(Patroni: synchronous_mode: true), and keep synchronous_commit on (or remote_apply).';
const REQUIRE_FIX = ' Or turn off "Require Synchronous Standby" in the Idempotency Store (Postgres) credential to accept that risk.';

export function judgeDurability(settings: PostgresDurabilitySettings, requireSynchronousStandby: boolean): DurabilityFinding[] {
	const findings: DurabilityFinding[] = [];
	const failover = requireSynchronousStandby ? 'refuse' : 'warn';
	const names = settings.synchronousStandbyNames;
	const s = settings.standbys;

	if (settings.fsync === 'off') {
		findings.push({
			level: 'warn',
			setting: 'fsync off',
			risk: 'A crash of the server machine (operating system, power) can lose acknowledged claims and processed marks — and corrupt the database.',
			fix: 'Set fsync = on in postgresql.conf and reload; fsync off is for throw-away databases.',
		});
	}
	if (settings.synchronousCommit === 'off') {
		// Only when a pooler dropped the store's own SET (sessionSetupSql).
		findings.push({
			level: 'warn',
			setting: 'synchronous_commit off',
			risk: 'A crash of the server loses the writes of its last fraction of a second that were already acknowledged (something between the store and Postgres — a connection pooler — undid the store’s own SET synchronous_commit).',
			fix: 'Set synchronous_commit = on for this database (ALTER DATABASE … SET synchronous_commit = on).',
		});
	}
	if (names === '') {
		if ('unreadable' in s) {
			findings.push({
				level: requireSynchronousStandby ? 'refuse' : 'unknown',
				setting: "synchronous_standby_names '' (standbys unknown)",
				risk: `Whether standbys stream from this server could not be read (${s.unreadable}); a failover to an asynchronous standby loses the acknowledged writes it had not received.`,
				fix: FAILOVER_FIX + (requireSynchronousStandby ? REQUIRE_FIX : ' Grant pg_monitor to the user to let the store see its standbys.'),
			});
		} else if (s.count > 0) {
			findings.push({
				level: failover,
				setting: `synchronous_standby_names '' with ${s.count} asynchronous standby${s.count === 1 ? '' : 's'}`,
				risk: 'A failover to a standby loses the acknowledged claims and processed marks it had not received yet: their next delivery is new again, a second write.',
				fix: FAILOVER_FIX + (requireSynchronousStandby ? REQUIRE_FIX : ''),
			});
		} else if (requireSynchronousStandby) {
			findings.push({
				level: 'refuse',
				setting: "synchronous_standby_names ''",
				risk: 'No standby confirms a commit: the credential requires a synchronous standby.',
				fix: FAILOVER_FIX + REQUIRE_FIX,
			});
		}
	} else if (!COMMIT_WAITS_FOR_STANDBY.has(settings.synchronousCommit)) {
		findings.push({
			level: failover,
			setting: `synchronous_commit ${settings.synchronousCommit} with synchronous_standby_names '${names}'`,
			risk: 'Commits do not wait for the synchronous standby: a failover loses the acknowledged writes it had not received yet.',
			fix:
				'Set synchronous_commit = on (or remote_apply) for this database, or turn on "Require Synchronous Standby" in the credential: the store then asks for on in its own sessions.',
		});
	}
	return findings;
}

/**
 * The server would not answer the settings at all (a Postgres-compatible database without them):
 * said, and refused only when the credential requires a synchronous standby — a store that cannot
 * read them must not stop workflows that ran before.
 */
export function unreadableSettings(message: string, requireSynchronousStandby: boolean): DurabilityFinding {
	return {
		level: requireSynchronousStandby ? 'refuse' : 'unknown',
		setting: 'synchronous_commit, fsync, synchronous_standby_names (not readable)',
		risk: `The server did not say whether it keeps acknowledged writes through a crash or a failover (${message}).`,
		fix: requireSynchronousStandby
			? 'Connect to a Postgres server that answers current_setting() and pg_is_in_recovery(), or turn off "Require Synchronous Standby".'
			: 'Check on the server that fsync and synchronous_commit are on and that a failover cannot go to an asynchronous standby.',
	};
}

export function durabilityReport(findings: DurabilityFinding[], checkedAt = Date.now()): DurabilityReport {
	return { safe: findings.every((finding) => finding.accepted === true), findings, checkedAt };
}

/** A finding in words, as the nodes' execution hint says it: `<setting>. <risk> <fix>`. */
export function findingText(finding: DurabilityFinding): string {
	return `${finding.setting}. ${finding.risk} ${finding.fix}`;
}
