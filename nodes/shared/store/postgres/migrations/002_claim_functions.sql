-- Migration 002: the claim's decision table as a SQL function, decide_claim(). Its definition
-- lives in functions/decide_claim.sql (applied after the migrations); no table changes here.
SELECT 1;
