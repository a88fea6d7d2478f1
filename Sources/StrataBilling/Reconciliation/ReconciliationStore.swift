import StrataSQL

/// The writes of a reconciliation run, on the run's connection and transaction: the run
/// row, each discrepancy once (with its one audit row), each finding.
enum ReconciliationStore {
    /// The audit action of a discrepancy found for the first time.
    static let auditAction = "reconcile.discrepancy"

    /// Stores a run and what it found; returns the discrepancies with ``ReconciliationDiscrepancy/isNew`` set.
    ///
    /// A discrepancy already stored (same kind and subject) is marked seen by this run;
    /// a new one is inserted and audited. Two runs inserting the same new discrepancy at
    /// once: the second's insert is a unique violation, its transaction runs again and
    /// finds the first's row.
    static func save(_ conn: any SQLConnection, period: (since: SQLTimestamp, until: SQLTimestamp),
                     counts: ReconciliationCounts, found: [ReconciliationDiscrepancy], providerFileSHA256: String?,
                     context: BillingContext, startedAt: SQLTimestamp, finishedAt: SQLTimestamp) throws -> ReconciliationReport {
        var report = ReconciliationReport(runID: 0, since: period.since, until: period.until, actor: context.actor,
                                          providerFileSHA256: providerFileSHA256, counts: counts, discrepancies: found,
                                          startedAt: startedAt, finishedAt: finishedAt)
        report.runID = try conn.insertReturningID("""
            INSERT INTO reconciliation_runs (period_since, period_until, actor, request_id, provider_file_sha256,
                checkout_events_checked, purchases_checked, invoices_checked, wallets_checked, provider_rows_checked,
                discrepancy_count, new_discrepancy_count, discrepancy_credits, discrepancy_minor_units,
                started_at, finished_at)
            VALUES (\(period.since), \(period.until), \(context.actor), \(context.requestID), \(providerFileSHA256),
                \(counts.checkoutEvents), \(counts.purchases), \(counts.invoices), \(counts.wallets), \(counts.providerRows),
                \(Int64(found.count)), 0, \(report.discrepancyCredits), \(report.discrepancyMinorUnits),
                \(startedAt), \(finishedAt))
            """)
        for i in report.discrepancies.indices {
            let d = report.discrepancies[i]
            let existing: Int64? = try conn.queryFirst("""
                SELECT id FROM reconciliation_discrepancies
                WHERE kind = \(d.kind.rawValue) AND subject_type = \(d.subjectType) AND subject_id = \(d.subjectID)
                """)?.decode("id")
            let discrepancyID: Int64
            if let existing {
                discrepancyID = existing
                try conn.execute("""
                    UPDATE reconciliation_discrepancies SET last_run_id = \(report.runID), last_found_at = \(finishedAt)
                    WHERE id = \(existing)
                    """)
            } else {
                discrepancyID = try conn.insertReturningID("""
                    INSERT INTO reconciliation_discrepancies
                        (kind, subject_type, subject_id, first_run_id, first_found_at, last_run_id, last_found_at)
                    VALUES (\(d.kind.rawValue), \(d.subjectType), \(d.subjectID), \(report.runID), \(finishedAt),
                            \(report.runID), \(finishedAt))
                    """)
                report.discrepancies[i].isNew = true
                var details: [String: any Sendable] = ["kind": d.kind.rawValue, "amount": d.amount, "unit": d.unit.rawValue,
                                                       "run_id": report.runID, "discrepancy_id": discrepancyID]
                if let currency = d.currency { details["currency"] = currency }
                for (name, value) in d.details where details[name] == nil { details[name] = value }
                try AuditLog.record(conn, context: context, action: auditAction, subjectType: d.subjectType,
                                    subjectID: d.subjectID, details: details, at: finishedAt)
            }
            try conn.execute("""
                INSERT INTO reconciliation_findings (run_id, discrepancy_id, amount, amount_unit, currency, details)
                VALUES (\(report.runID), \(discrepancyID), \(d.amount), \(d.unit.rawValue), \(d.currency),
                        \(try SQLJSON(jsonObject: d.details)))
                """)
        }
        if report.newDiscrepancies > 0 {
            try conn.execute("""
                UPDATE reconciliation_runs SET new_discrepancy_count = \(report.newDiscrepancies) WHERE id = \(report.runID)
                """)
        }
        return report
    }
}
