-- 0003 plans, subscriptions, usage_counters, usage_alerts: the plan catalogue, a
-- subscription of a customer to a plan, usage per subscription and period, and the
-- 80 % / 100 % alerts (one row per subscription, period and threshold).
-- Foreign keys are ON DELETE RESTRICT: subscriptions and usage are billing history,
-- a plan or customer that has any must be deactivated, not deleted.
-- Every foreign key has an explicit index (or a unique key starting with its
-- columns), so InnoDB never adds an index of its own.
CREATE TABLE plans (
    id               BIGINT       NOT NULL AUTO_INCREMENT,
    code             VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name             VARCHAR(191) NOT NULL,
    price_minor      BIGINT       NOT NULL,
    currency         CHAR(3)      NOT NULL,
    billing_interval VARCHAR(16)  NOT NULL,
    included_credits BIGINT       NOT NULL,
    usage_limit      BIGINT       NOT NULL,
    features         JSON         NOT NULL,
    active           BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at       DATETIME(6)  NOT NULL,
    updated_at       DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_plans_code UNIQUE (code),
    CONSTRAINT ck_plans_price_nonneg CHECK (price_minor >= 0),
    CONSTRAINT ck_plans_currency_len CHECK (CHAR_LENGTH(currency) = 3),
    CONSTRAINT ck_plans_billing_interval CHECK (billing_interval IN ('month', 'year')),
    CONSTRAINT ck_plans_included_credits_nonneg CHECK (included_credits >= 0),
    CONSTRAINT ck_plans_usage_limit_nonneg CHECK (usage_limit >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE subscriptions (
    id                   BIGINT      NOT NULL AUTO_INCREMENT,
    customer_id          BIGINT      NOT NULL,
    plan_id              BIGINT      NOT NULL,
    state                VARCHAR(16) NOT NULL,
    current_period_start DATETIME(6) NOT NULL,
    current_period_end   DATETIME(6) NOT NULL,
    created_at           DATETIME(6) NOT NULL,
    updated_at           DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    INDEX ix_subscriptions_customer_id (customer_id),
    INDEX ix_subscriptions_plan_id (plan_id),
    CONSTRAINT ck_subscriptions_state CHECK (state IN ('active', 'past_due', 'restricted', 'canceled')),
    CONSTRAINT ck_subscriptions_period CHECK (current_period_end > current_period_start),
    -- RESTRICT: a customer with subscriptions is billing history.
    CONSTRAINT fk_subscriptions_customer FOREIGN KEY (customer_id)
        REFERENCES customers (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    -- RESTRICT: an unknown plan is rejected, a plan in use cannot be deleted.
    CONSTRAINT fk_subscriptions_plan FOREIGN KEY (plan_id)
        REFERENCES plans (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE usage_counters (
    id              BIGINT      NOT NULL AUTO_INCREMENT,
    subscription_id BIGINT      NOT NULL,
    period_start    DATETIME(6) NOT NULL,
    used            BIGINT      NOT NULL DEFAULT 0,
    created_at      DATETIME(6) NOT NULL,
    updated_at      DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    -- one counter per subscription and period (also serves the foreign key)
    CONSTRAINT uq_usage_counters_subscription_period UNIQUE (subscription_id, period_start),
    CONSTRAINT ck_usage_counters_used_nonneg CHECK (used >= 0),
    -- RESTRICT: usage is billing history.
    CONSTRAINT fk_usage_counters_subscription FOREIGN KEY (subscription_id)
        REFERENCES subscriptions (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE usage_alerts (
    id              BIGINT      NOT NULL AUTO_INCREMENT,
    subscription_id BIGINT      NOT NULL,
    period_start    DATETIME(6) NOT NULL,
    threshold       INT         NOT NULL,
    fired_at        DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    -- an alert fires exactly once per subscription, period and threshold: the
    -- losing concurrent INSERT hits this key (also serves the foreign key)
    CONSTRAINT uq_usage_alerts_subscription_period_threshold UNIQUE (subscription_id, period_start, threshold),
    CONSTRAINT ck_usage_alerts_threshold CHECK (threshold IN (80, 100)),
    -- RESTRICT: alerts are billing history.
    CONSTRAINT fk_usage_alerts_subscription FOREIGN KEY (subscription_id)
        REFERENCES subscriptions (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
