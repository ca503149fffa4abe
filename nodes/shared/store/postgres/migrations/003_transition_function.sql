-- Migration 003: the State Ledger's transitions as one function, apply_transition(). Its
-- definition lives in functions/apply_transition.sql (applied after the migrations); no table
-- changes here.
SELECT 1;
