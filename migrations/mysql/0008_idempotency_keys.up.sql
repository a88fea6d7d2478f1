-- 0008 idempotency_keys: one row per (scope, key). The first request inserts it
-- in_progress, a replay with the same fingerprint gets the stored response once
-- completed, a different fingerprint, or a replay while in_progress, is a conflict.
CREATE TABLE idempotency_keys (
    id                  BIGINT       NOT NULL AUTO_INCREMENT,
    scope               VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    idempotency_key     VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request_fingerprint VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    response            JSON         NULL,
    state               VARCHAR(16)  NOT NULL,
    locked_at           DATETIME(6)  NULL,
    expires_at          DATETIME(6)  NOT NULL,
    created_at          DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_idempotency_keys_scope_key UNIQUE (scope, idempotency_key),
    -- purging expired keys
    INDEX ix_idempotency_keys_expires_at (expires_at),
    CONSTRAINT ck_idempotency_keys_state CHECK (state IN ('in_progress', 'completed')),
    -- a completed key has its stored response
    CONSTRAINT ck_idempotency_keys_response CHECK (state <> 'completed' OR response IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
