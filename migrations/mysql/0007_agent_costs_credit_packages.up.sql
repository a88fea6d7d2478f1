-- 0007 agent_costs, credit_packages: the catalogues that strata seed loads from
-- seeds/agent_costs.csv and seeds/credit_packages.json (upsert by agent_key /
-- package_id, rows are deactivated, never deleted).
-- Keys are case-sensitive (utf8mb4_bin): 'abc' and 'ABC' are two agents, as on PostgreSQL.
CREATE TABLE agent_costs (
    id              BIGINT       NOT NULL AUTO_INCREMENT,
    agent_key       VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    display_name    VARCHAR(191) NOT NULL,
    credits_per_run BIGINT       NOT NULL,
    active          BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at      DATETIME(6)  NOT NULL,
    updated_at      DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_agent_costs_agent_key UNIQUE (agent_key),
    CONSTRAINT ck_agent_costs_credits_per_run_pos CHECK (credits_per_run > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE credit_packages (
    id                BIGINT       NOT NULL AUTO_INCREMENT,
    package_id        VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    name              VARCHAR(191) NOT NULL,
    credits           BIGINT       NOT NULL,
    price_minor       BIGINT       NOT NULL,
    currency          CHAR(3)      NOT NULL,
    provider_price_id VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    active            BOOLEAN      NOT NULL DEFAULT TRUE,
    created_at        DATETIME(6)  NOT NULL,
    updated_at        DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_credit_packages_package_id UNIQUE (package_id),
    -- a checkout names the provider price: it must map to one package
    CONSTRAINT uq_credit_packages_provider_price_id UNIQUE (provider_price_id),
    CONSTRAINT ck_credit_packages_credits_pos CHECK (credits > 0),
    CONSTRAINT ck_credit_packages_price_nonneg CHECK (price_minor >= 0),
    CONSTRAINT ck_credit_packages_currency_len CHECK (CHAR_LENGTH(currency) = 3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
