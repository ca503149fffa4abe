// Throwaway databases on the machine's Postgres and Redis, one per run, so parallel runs and
// leftovers never meet: `CREATE DATABASE e2e_<random>` / drop, and Redis keys by prefix.
'use strict';

const crypto = require('crypto');
const { execFileSync } = require('child_process');

const PG = {
	host: process.env.PGHOST || '127.0.0.1',
	port: Number(process.env.PGPORT || 5432),
	user: process.env.PGUSER || 'postgres',
	password: process.env.PGPASSWORD || '',
};
const REDIS = { host: process.env.REDIS_HOST || '127.0.0.1', port: Number(process.env.REDIS_PORT || 6379) };

function psql(sql, database = 'postgres') {
	return execFileSync('psql', ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
		env: { ...process.env, PGPASSWORD: PG.password },
	});
}

function createDatabase(prefix) {
	const name = `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
	psql(`CREATE DATABASE ${name}`);
	return name;
}

function dropDatabase(name) {
	psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

function redisCli(args, opts = {}) {
	return execFileSync('redis-cli', ['-h', REDIS.host, '-p', String(REDIS.port), ...args], { encoding: 'utf8', ...opts });
}

function deleteRedisKeys(pattern, db = 0) {
	try {
		// --scan prints every key: allow far more than execFileSync's 1 MB default, or a large run
		// (hundreds of thousands of keys) would fail here and leak all of them.
		const keys = redisCli(['-n', String(db), '--scan', '--pattern', pattern], { maxBuffer: 1024 * 1024 * 1024 })
			.split('\n')
			.filter(Boolean);
		for (let i = 0; i < keys.length; i += 500) redisCli(['-n', String(db), 'DEL', ...keys.slice(i, i + 500)], { stdio: 'ignore' });
		return keys.length;
	} catch {
		return 0; // best effort: cleanup must never fail a run
	}
}

module.exports = { PG, REDIS, psql, createDatabase, dropDatabase, redisCli, deleteRedisKeys };
