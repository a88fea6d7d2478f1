-- 0009 invoices, invoice_lines: the provider's invoices as its webhook events describe
-- them, keyed by (provider, provider_invoice_id), and their lines when an event carries
-- them. Each row holds the state of one event, source_event_created_at being that
-- event's time: an older event is refused (a tie goes to the further status:
-- draft < open < paid, void, uncollectible), so events apply in any order, any number
-- of times. Amounts are minor units of the invoice's currency (ISO 4217, upper case).
-- The invoice's own times (invoice_created_at, finalized_at, paid_at, the period, the
-- due date) are the provider's; created_at and updated_at are Strata's.
-- Provider ids are case-sensitive (utf8mb4_bin), as on PostgreSQL.
CREATE TABLE invoices (
    id                       BIGINT        NOT NULL AUTO_INCREMENT,
    provider                 VARCHAR(32)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    provider_invoice_id      VARCHAR(191)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    customer_id              BIGINT        NOT NULL,
    provider_subscription_id VARCHAR(191)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    number                   VARCHAR(191)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    status                   VARCHAR(16)   NOT NULL,
    currency                 CHAR(3)       NOT NULL,
    amount_due               BIGINT        NOT NULL,
    amount_paid              BIGINT        NOT NULL,
    amount_remaining         BIGINT        NOT NULL,
    period_start             DATETIME(6)   NULL,
    period_end               DATETIME(6)   NULL,
    due_date                 DATETIME(6)   NULL,
    hosted_invoice_url       VARCHAR(2048) NULL,
    invoice_pdf_url          VARCHAR(2048) NULL,
    invoice_created_at       DATETIME(6)   NOT NULL,
    finalized_at             DATETIME(6)   NULL,
    paid_at                  DATETIME(6)   NULL,
    source_event_id          VARCHAR(191)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    source_event_created_at  DATETIME(6)   NOT NULL,
    created_at               DATETIME(6)   NOT NULL,
    updated_at               DATETIME(6)   NOT NULL,
    PRIMARY KEY (id),
    -- one row per provider invoice: every event of it updates this row
    CONSTRAINT uq_invoices_provider_invoice UNIQUE (provider, provider_invoice_id),
    -- a customer's invoices newest first, paged by (invoice_created_at, id)
    -- (also serves the foreign key)
    INDEX ix_invoices_customer_created (customer_id, invoice_created_at, id),
    CONSTRAINT ck_invoices_status CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
    CONSTRAINT ck_invoices_currency_len CHECK (CHAR_LENGTH(currency) = 3),
    CONSTRAINT ck_invoices_amount_due_nonneg CHECK (amount_due >= 0),
    CONSTRAINT ck_invoices_amount_paid_nonneg CHECK (amount_paid >= 0),
    CONSTRAINT ck_invoices_amount_remaining_nonneg CHECK (amount_remaining >= 0),
    CONSTRAINT ck_invoices_period CHECK (period_start IS NULL OR period_end IS NULL OR period_end >= period_start),
    -- RESTRICT: invoices are billing history.
    CONSTRAINT fk_invoices_customer FOREIGN KEY (customer_id)
        REFERENCES customers (id) ON DELETE RESTRICT ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE invoice_lines (
    id           BIGINT       NOT NULL AUTO_INCREMENT,
    invoice_id   BIGINT       NOT NULL,
    line_id      VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    description  VARCHAR(500) NULL,
    amount       BIGINT       NOT NULL,
    currency     CHAR(3)      NOT NULL,
    quantity     BIGINT       NULL,
    period_start DATETIME(6)  NULL,
    period_end   DATETIME(6)  NULL,
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    -- a line is stored once per invoice however many events carry it
    -- (also serves the foreign key)
    CONSTRAINT uq_invoice_lines_invoice_line UNIQUE (invoice_id, line_id),
    CONSTRAINT ck_invoice_lines_currency_len CHECK (CHAR_LENGTH(currency) = 3),
    CONSTRAINT ck_invoice_lines_quantity_nonneg CHECK (quantity IS NULL OR quantity >= 0),
    CONSTRAINT ck_invoice_lines_period CHECK (period_start IS NULL OR period_end IS NULL OR period_end >= period_start),
    -- CASCADE: lines are part of their invoice and mean nothing without it. Invoices
    -- themselves are never deleted through a cascade (fk_invoices_customer).
    CONSTRAINT fk_invoice_lines_invoice FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE ON UPDATE RESTRICT
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
