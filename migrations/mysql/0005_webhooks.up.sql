-- 0005 webhook_events, webhook_attempts: the webhook inbox (each provider event
-- stored once, with its retry state and worker lease) and one row per processing try.
-- provider and event_id are case-sensitive (utf8mb4_bin), as on PostgreSQL.
CREATE TABLE webhook_events (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    provider         VARCHAR(32)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    event_id         VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    event_type       VARCHAR(191) NOT NULL,
    payload          JSON         NOT NULL,
    state            VARCHAR(16)  NOT NULL,
    attempts         INT          NOT NULL DEFAULT 0,
    next_attempt_at  DATETIME(6)  NULL,
    lease_owner      VARCHAR(191) NULL,
    lease_expires_at DATETIME(6)  NULL,
    last_error       TEXT         NULL,
    received_at      DATETIME(6)  NOT NULL,
    processed_at     DATETIME(6)  NULL,
    updated_at       DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    -- a duplicate delivery hits this key and is acknowledged and ignored
    CONSTRAINT uq_webhook_events_provider_event UNIQUE (provider, event_id),
    -- workers claim due events: WHERE state = 'pending' AND next_attempt_at <= now
    INDEX ix_webhook_events_state_next_attempt (state, next_attempt_at),
    CONSTRAINT ck_webhook_events_state CHECK (state IN ('pending', 'processing', 'processed', 'dead')),
    CONSTRAINT ck_webhook_events_attempts_nonneg CHECK (attempts >= 0),
    -- a lease is an owner and an expiry, or neither
    CONSTRAINT ck_webhook_events_lease_pair CHECK (
        (lease_owner IS NULL AND lease_expires_at IS NULL)
        OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)
    ),
    CONSTRAINT ck_webhook_events_processed_at CHECK (state <> 'processed' OR processed_at IS NOT NULL)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE webhook_attempts (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    event_id       BIGINT       NOT NULL,
    attempt_number INT          NOT NULL,
    started_at     DATETIME(6)  NOT NULL,
    finished_at    DATETIME(6)  NOT NULL,
    outcome        VARCHAR(16)  NOT NULL,
    error          TEXT         NULL,
    worker         VARCHAR(191) NOT NULL,
    PRIMARY KEY (id),
    -- one row per try (also serves the foreign key)
    CONSTRAINT uq_webhook_attempts_event_attempt UNIQUE (event_id, attempt_number),
    CONSTRAINT ck_webhook_attempts_attempt_number_pos CHECK (attempt_number >= 1),
    CONSTRAINT ck_webhook_attempts_outcome CHECK (outcome IN ('succeeded', 'failed')),
    CONSTRAINT ck_webhook_attempts_finished_after_start CHECK (finished_at >= started_at),
    -- CASCADE: attempts are a log of their event and mean nothing without it,
    -- purging an old event purges its attempts. No money moves here.
    CONSTRAINT fk_webhook_attempts_event FOREIGN KEY (event_id)
        REFERENCES webhook_events (id) ON DELETE CASCADE ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
