-- Migration 005: two holes closed (issue 11).
--
-- 1. A replay never releases a live claim. resolve_exception() gains p_force: `replay` of a key
--    that is `processing` with a valid lease is refused — nothing changes, the exception stays
--    open, `refused` says why — unless forced; a forced replay is recorded as `forced`.
-- 2. A failed input is undone exactly. The claim keeps, in `prior`, the record as it was before a
--    claim that took it (the same trick as `decision`: RETURNING only sees the new row), and
--    restore_claim() writes that image back — only while the record still carries the claim's
--    token and is still `processing`, so a record someone else changed since is never clobbered.
--
-- The functions, and the trigger that drops `prior` once the key leaves `processing`, are
-- defined in functions/ (resolve_exception.sql, restore_claim.sql, drop_prior.sql). Here: the
-- column, and the drop of resolve_exception()'s earlier signature (a new parameter and result
-- column make it another function; CREATE OR REPLACE would leave the old one beside it).

ALTER TABLE {{schema}}.records ADD COLUMN prior jsonb;

DROP FUNCTION IF EXISTS {{schema}}.resolve_exception(uuid, text, text, text, text, text, jsonb, bigint, text, text, text);
