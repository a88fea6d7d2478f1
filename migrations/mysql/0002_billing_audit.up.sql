-- 0002 billing_audit: the append-only audit log. Services only ever INSERT here,
-- in the same transaction as the change they describe. No foreign keys on purpose:
-- the subject is generic (type + id as text) and the log must outlive its subjects.
-- Indexes are declared inside CREATE TABLE (PostgreSQL creates the same ones after it).
CREATE TABLE billing_audit (
    id           BIGINT       NOT NULL AUTO_INCREMENT,
    occurred_at  DATETIME(6)  NOT NULL,
    actor        VARCHAR(191) NOT NULL,
    action       VARCHAR(100) NOT NULL,
    subject_type VARCHAR(64)  NOT NULL,
    subject_id   VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    request_id   VARCHAR(191) NULL,
    details      JSON         NOT NULL,
    PRIMARY KEY (id),
    -- "audit by subject and time range"
    INDEX ix_billing_audit_subject_occurred (subject_type, subject_id, occurred_at),
    -- "audit --since" without a subject
    INDEX ix_billing_audit_occurred_at (occurred_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
