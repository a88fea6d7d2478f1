-- 0006 credit_wallets, credit_transactions: one wallet per customer with a
-- non-negative balance, and its append-only ledger. Every ledger row has a
-- per-wallet sequence (1, 2, 3, ..., the wallet keeps last_sequence), a signed
-- amount and the balance after it.
-- All foreign keys are ON DELETE RESTRICT: this is money history and is never
-- deleted through a cascade.
-- agent_key has no foreign key to agent_costs on purpose: the ledger keeps a
-- snapshot of the agent and its cost at charge time (and agent_costs comes later).
CREATE TABLE credit_wallets (
    id            BIGINT      NOT NULL AUTO_INCREMENT,
    customer_id   BIGINT      NOT NULL,
    balance       BIGINT      NOT NULL DEFAULT 0,
    version       BIGINT      NOT NULL DEFAULT 0,
    last_sequence BIGINT      NOT NULL DEFAULT 0,
    created_at    DATETIME(6) NOT NULL,
    updated_at    DATETIME(6) NOT NULL,
    PRIMARY KEY (id),
    -- one wallet per customer (also serves the foreign key)
    CONSTRAINT uq_credit_wallets_customer UNIQUE (customer_id),
    CONSTRAINT ck_wallet_balance_nonneg CHECK (balance >= 0),
    CONSTRAINT ck_credit_wallets_version_nonneg CHECK (version >= 0),
    CONSTRAINT ck_credit_wallets_last_sequence_nonneg CHECK (last_sequence >= 0),
    CONSTRAINT fk_credit_wallets_customer FOREIGN KEY (customer_id)
        REFERENCES customers (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE credit_transactions (
    id                      BIGINT       NOT NULL AUTO_INCREMENT,
    wallet_id               BIGINT       NOT NULL,
    sequence                BIGINT       NOT NULL,
    kind                    VARCHAR(16)  NOT NULL,
    amount                  BIGINT       NOT NULL,
    balance_after           BIGINT       NOT NULL,
    agent_key               VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    cost_per_run            BIGINT       NULL,
    run_id                  VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    idempotency_key         VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    external_reference      VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    refunded_transaction_id BIGINT       NULL,
    actor                   VARCHAR(191) NOT NULL,
    reason                  VARCHAR(500) NULL,
    created_at              DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    -- the ledger by wallet and sequence, a gap-free, duplicate-free sequence
    -- (also serves the wallet foreign key)
    CONSTRAINT uq_credit_transactions_wallet_sequence UNIQUE (wallet_id, sequence),
    -- the same idempotency key never moves credits twice in one wallet
    CONSTRAINT uq_credit_transactions_wallet_idempotency_key UNIQUE (wallet_id, idempotency_key),
    -- a run is charged at most once and refunded at most once: run ids appear only
    -- on charges and refunds (ck_credit_transactions_run_kind), so per wallet and
    -- run there is at most one charge row and one refund row
    CONSTRAINT uq_credit_transactions_wallet_run_kind UNIQUE (wallet_id, run_id, kind),
    -- a transaction is refunded at most once (also serves the self foreign key)
    CONSTRAINT uq_credit_transactions_refunded_transaction UNIQUE (refunded_transaction_id),
    CONSTRAINT ck_credit_transactions_kind CHECK (kind IN ('grant', 'purchase', 'charge', 'refund', 'adjustment')),
    CONSTRAINT ck_credit_transactions_sequence_pos CHECK (sequence >= 1),
    CONSTRAINT ck_credit_transactions_amount_nonzero CHECK (amount <> 0),
    -- credits come in through grant, purchase and refund, go out through charge,
    -- an adjustment goes either way
    CONSTRAINT ck_credit_transactions_amount_sign CHECK (
        (kind IN ('grant', 'purchase', 'refund') AND amount > 0)
        OR (kind = 'charge' AND amount < 0)
        OR kind = 'adjustment'
    ),
    CONSTRAINT ck_credit_transactions_balance_after_nonneg CHECK (balance_after >= 0),
    CONSTRAINT ck_credit_transactions_cost_per_run_pos CHECK (cost_per_run IS NULL OR cost_per_run > 0),
    -- a charge is an agent run: it carries the agent, the cost snapshot and the run id
    CONSTRAINT ck_credit_transactions_charge_fields CHECK (
        kind <> 'charge' OR (agent_key IS NOT NULL AND cost_per_run IS NOT NULL AND run_id IS NOT NULL)
    ),
    CONSTRAINT ck_credit_transactions_run_kind CHECK (run_id IS NULL OR kind IN ('charge', 'refund')),
    -- a refund names the transaction it refunds, nothing else does
    CONSTRAINT ck_credit_transactions_refund_link CHECK (
        (kind = 'refund' AND refunded_transaction_id IS NOT NULL)
        OR (kind <> 'refund' AND refunded_transaction_id IS NULL)
    ),
    CONSTRAINT fk_credit_transactions_wallet FOREIGN KEY (wallet_id)
        REFERENCES credit_wallets (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_credit_transactions_refunded_transaction FOREIGN KEY (refunded_transaction_id)
        REFERENCES credit_transactions (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
