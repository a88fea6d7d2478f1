-- 0004 grace_periods: a failed payment opens one, a payment resolves it, the sweep
-- expires it. "At most one open per subscription" is a UNIQUE key on
-- open_subscription_id, which holds the subscription id only while state = 'open'
-- and is NULL otherwise (NULLs never collide, MySQL has no partial indexes).
CREATE TABLE grace_periods (
    id                   BIGINT       NOT NULL AUTO_INCREMENT,
    customer_id          BIGINT       NOT NULL,
    subscription_id      BIGINT       NOT NULL,
    reason               VARCHAR(191) NOT NULL,
    started_at           DATETIME(6)  NOT NULL,
    ends_at              DATETIME(6)  NOT NULL,
    resolved_at          DATETIME(6)  NULL,
    expired_at           DATETIME(6)  NULL,
    state                VARCHAR(16)  NOT NULL,
    open_subscription_id BIGINT       NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_grace_periods_open_subscription UNIQUE (open_subscription_id),
    INDEX ix_grace_periods_customer_id (customer_id),
    INDEX ix_grace_periods_subscription_id (subscription_id),
    -- the daily sweep: open ones whose ends_at has passed
    INDEX ix_grace_periods_state_ends_at (state, ends_at),
    CONSTRAINT ck_grace_periods_state CHECK (state IN ('open', 'resolved', 'expired')),
    -- open_subscription_id is set exactly while open (the IS NOT NULL matters: a
    -- CHECK that evaluates to NULL passes)
    CONSTRAINT ck_grace_periods_open_subscription CHECK (
        (state = 'open' AND open_subscription_id IS NOT NULL AND open_subscription_id = subscription_id)
        OR (state <> 'open' AND open_subscription_id IS NULL)
    ),
    -- the end timestamps follow the state
    CONSTRAINT ck_grace_periods_state_times CHECK (
        (state = 'open' AND resolved_at IS NULL AND expired_at IS NULL)
        OR (state = 'resolved' AND resolved_at IS NOT NULL AND expired_at IS NULL)
        OR (state = 'expired' AND expired_at IS NOT NULL AND resolved_at IS NULL)
    ),
    CONSTRAINT ck_grace_periods_ends_after_start CHECK (ends_at >= started_at),
    -- RESTRICT: grace periods are billing history.
    CONSTRAINT fk_grace_periods_customer FOREIGN KEY (customer_id)
        REFERENCES customers (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_grace_periods_subscription FOREIGN KEY (subscription_id)
        REFERENCES subscriptions (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
