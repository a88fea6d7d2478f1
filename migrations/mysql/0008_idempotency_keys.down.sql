-- 0008 idempotency_keys (down): drops the idempotency_keys table (its index goes with it).
DROP TABLE IF EXISTS idempotency_keys;
