-- drop_prior(), and the trigger on records that calls it: a claim keeps, in `prior`, the record
-- as it was before the claim took it (restore_claim() writes it back). The image only lives while
-- the claim does: once the key leaves `processing` (settled, or restored) it is dropped, so an
-- earlier life's result is not kept past its retention.
--
-- The trigger is created here, not in a migration, because it needs its function. It is created
-- only when missing: (re)creating a trigger locks the records table against writes, and the
-- functions are applied again at every change of any of them. A changed trigger definition
-- therefore comes with a migration that drops the old trigger.

CREATE OR REPLACE FUNCTION {{schema}}.drop_prior() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.prior := NULL;
	RETURN NEW;
END
$fn$;

DO $do$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '{{schema}}.records'::regclass AND tgname = 'records_drop_prior') THEN
		CREATE TRIGGER records_drop_prior BEFORE UPDATE ON {{schema}}.records
			FOR EACH ROW WHEN (NEW.prior IS NOT NULL AND NEW.state <> 'processing') EXECUTE FUNCTION {{schema}}.drop_prior();
	END IF;
END
$do$;
