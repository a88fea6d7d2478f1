-- 0010 reconciliation_runs, reconciliation_discrepancies, reconciliation_findings:
-- what `strata reconcile` / POST /billing/reconcile checked and found.
-- A run is one check of the period [period_since, period_until): its counts and
-- totals. A discrepancy is one problem, identified by (kind, subject_type, subject_id)
-- however many runs find it: it is written, and audited (billing_audit action
-- reconcile.discrepancy), by the first run that finds it only, so running a check again
-- writes no second audit row. A finding is one run's sight of one discrepancy, with the
-- amount it saw then: a run's report is its findings.
-- Amounts: `credits` (a wallet's credits), `minor_units` (money, in minor units of
-- `currency`) or `none` (a problem without an amount: a stuck webhook event).
-- Subject ids are provider ids and customer ids: case-sensitive (utf8mb4_bin).
CREATE TABLE reconciliation_runs (
    id                      BIGINT       NOT NULL AUTO_INCREMENT,
    period_since            DATETIME(6)  NOT NULL,
    period_until            DATETIME(6)  NOT NULL,
    actor                   VARCHAR(191) NOT NULL,
    request_id              VARCHAR(191) NULL,
    -- SHA-256 (hex) of the provider's payments file, when the run was given one
    provider_file_sha256    CHAR(64)     NULL,
    checkout_events_checked BIGINT       NOT NULL,
    purchases_checked       BIGINT       NOT NULL,
    invoices_checked        BIGINT       NOT NULL,
    wallets_checked         BIGINT       NOT NULL,
    provider_rows_checked   BIGINT       NOT NULL,
    discrepancy_count       BIGINT       NOT NULL,
    new_discrepancy_count   BIGINT       NOT NULL,
    -- sums of the findings' absolute amounts, by unit (minor units of every currency)
    discrepancy_credits     BIGINT       NOT NULL,
    discrepancy_minor_units BIGINT       NOT NULL,
    started_at              DATETIME(6)  NOT NULL,
    finished_at             DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    -- the latest run (metrics, `strata reconcile` history)
    INDEX ix_reconciliation_runs_finished_at (finished_at),
    CONSTRAINT ck_reconciliation_runs_period CHECK (period_until > period_since),
    CONSTRAINT ck_reconciliation_runs_counts_nonneg CHECK (
        checkout_events_checked >= 0 AND purchases_checked >= 0 AND invoices_checked >= 0
        AND wallets_checked >= 0 AND provider_rows_checked >= 0
        AND discrepancy_count >= 0 AND new_discrepancy_count >= 0 AND new_discrepancy_count <= discrepancy_count
        AND discrepancy_credits >= 0 AND discrepancy_minor_units >= 0
    ),
    CONSTRAINT ck_reconciliation_runs_finished CHECK (finished_at >= started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reconciliation_discrepancies (
    id             BIGINT       NOT NULL AUTO_INCREMENT,
    kind           VARCHAR(40)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    subject_type   VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    subject_id     VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    first_run_id   BIGINT       NOT NULL,
    first_found_at DATETIME(6)  NOT NULL,
    last_run_id    BIGINT       NOT NULL,
    last_found_at  DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    -- one row per problem, whichever run finds it first
    CONSTRAINT uq_reconciliation_discrepancies_kind_subject UNIQUE (kind, subject_type, subject_id),
    INDEX ix_reconciliation_discrepancies_first_run (first_run_id),
    INDEX ix_reconciliation_discrepancies_last_run (last_run_id),
    CONSTRAINT ck_reconciliation_discrepancies_kind CHECK (kind IN (
        'missing_purchase', 'duplicate_purchase', 'wrong_credits', 'purchase_without_event',
        'paid_invoice_without_payment', 'ledger_inconsistent', 'negative_wallet', 'stuck_webhook',
        'provider_payment_missing', 'stored_payment_not_at_provider', 'amount_mismatch')),
    CONSTRAINT ck_reconciliation_discrepancies_found CHECK (last_found_at >= first_found_at),
    -- RESTRICT: runs and what they found are audit history.
    CONSTRAINT fk_reconciliation_discrepancies_first_run FOREIGN KEY (first_run_id)
        REFERENCES reconciliation_runs (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_reconciliation_discrepancies_last_run FOREIGN KEY (last_run_id)
        REFERENCES reconciliation_runs (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reconciliation_findings (
    id             BIGINT      NOT NULL AUTO_INCREMENT,
    run_id         BIGINT      NOT NULL,
    discrepancy_id BIGINT      NOT NULL,
    amount         BIGINT      NOT NULL,
    amount_unit    VARCHAR(16) NOT NULL,
    currency       CHAR(3)     NULL,
    details        JSON        NOT NULL,
    PRIMARY KEY (id),
    -- a run sees a discrepancy once (also serves the run foreign key)
    CONSTRAINT uq_reconciliation_findings_run_discrepancy UNIQUE (run_id, discrepancy_id),
    INDEX ix_reconciliation_findings_discrepancy (discrepancy_id),
    CONSTRAINT ck_reconciliation_findings_unit CHECK (amount_unit IN ('credits', 'minor_units', 'none')),
    CONSTRAINT ck_reconciliation_findings_none_zero CHECK (amount_unit <> 'none' OR amount = 0),
    CONSTRAINT ck_reconciliation_findings_currency CHECK (currency IS NULL OR CHAR_LENGTH(currency) = 3),
    CONSTRAINT fk_reconciliation_findings_run FOREIGN KEY (run_id)
        REFERENCES reconciliation_runs (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
    CONSTRAINT fk_reconciliation_findings_discrepancy FOREIGN KEY (discrepancy_id)
        REFERENCES reconciliation_discrepancies (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
