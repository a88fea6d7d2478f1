-- 0001 customers: one billed account per row, keyed by its case-sensitive
-- external id (from the application). provider_customer_id links it to the provider.
-- Case-sensitive keys use utf8mb4_bin (the table default collation is case-insensitive).
CREATE TABLE customers (
    id                   BIGINT       NOT NULL AUTO_INCREMENT,
    external_id          VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    email                VARCHAR(254) NULL,
    provider_customer_id VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    created_at           DATETIME(6)  NOT NULL,
    updated_at           DATETIME(6)  NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_customers_external_id UNIQUE (external_id),
    -- NULL until the customer exists at the provider, NULLs never collide.
    CONSTRAINT uq_customers_provider_customer_id UNIQUE (provider_customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
