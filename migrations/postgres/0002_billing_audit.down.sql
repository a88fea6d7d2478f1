-- 0002 billing_audit (down): drops the audit log table (its indexes go with it).
DROP TABLE IF EXISTS billing_audit;
