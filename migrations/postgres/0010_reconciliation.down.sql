-- 0010 reconciliation (down): drops the findings, the discrepancies, then the runs.
DROP TABLE IF EXISTS reconciliation_findings;

DROP TABLE IF EXISTS reconciliation_discrepancies;

DROP TABLE IF EXISTS reconciliation_runs;
