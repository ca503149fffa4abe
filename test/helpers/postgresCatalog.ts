// What a schema holds, read from the Postgres catalog with the schema's name taken out, so that
// two schemas built different ways (fresh, or upgraded from an older version) can be compared.

import { sql } from './postgres';

export interface Catalog {
	relations: string[];
	functions: string[];
	triggers: string[];
	indexes: string[];
	columns: string[];
	constraints: string[];
}

export async function catalogOf(schema: string): Promise<Catalog> {
	const rows = async (text: string) =>
		(await sql<{ line: string }>(text, [schema])).map((row) => row.line.split(`"${schema}".`).join('{{schema}}.').split(`${schema}.`).join('{{schema}}.'));
	return {
		relations: await rows(
			`SELECT concat_ws(' | ', c.relname, c.relkind, array_to_string(c.reloptions, ',')) AS line
			 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind <> 'i' ORDER BY 1`,
		),
		functions: await rows(
			`SELECT concat_ws(' | ', p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid),
				l.lanname, p.provolatile, p.prosrc) AS line
			 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
			 WHERE n.nspname = $1 ORDER BY 1`,
		),
		triggers: await rows(
			`SELECT pg_get_triggerdef(t.oid) AS line FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
			 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1`,
		),
		indexes: await rows(`SELECT indexdef AS line FROM pg_indexes WHERE schemaname = $1 ORDER BY 1`),
		columns: await rows(
			`SELECT concat_ws(' | ', table_name, ordinal_position, column_name, data_type, udt_name, is_nullable, column_default) AS line
			 FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position`,
		),
		constraints: await rows(
			`SELECT concat_ws(' | ', c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)) AS line
			 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY 1`,
		),
	};
}
