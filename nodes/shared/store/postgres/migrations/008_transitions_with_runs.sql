-- Migration 008: the transitions, exception resolutions and claim restores of migrations 003 and
-- 005, aware of duplicate runs and event counters (migration 007). Each event they append ends the
-- key's open run first (its one history row comes before the event). apply_transition() now says
-- which event it appended (OUT event) so that transition.sql counts them after all its row locks;
-- resolve_exception() counts its own event last. restore.sql counts the `released` rollbacks.
--
-- The new definitions live in functions/. Here only the drop of apply_transition() with its
-- earlier result type (CREATE OR REPLACE cannot change a function's OUT columns); the functions
-- step creates it again in the same transaction. No table is touched, so this takes no lock on a
-- big table.

DROP FUNCTION IF EXISTS {{schema}}.apply_transition(text, text, text, text, boolean, boolean, jsonb, text, bigint, bigint, text, text, text, jsonb);
