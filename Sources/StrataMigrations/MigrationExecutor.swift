import Foundation
import Logging
import StrataSQL

/// Runs one ``MigrationStep`` on one connection and keeps the history true to what ran.
///
/// Where DDL is transactional (PostgreSQL) the statements and the history row commit
/// together: a failure leaves no trace. Elsewhere (MySQL, or `-- strata:no-transaction`)
/// every statement commits on its own, so the history row is updated after each one; a
/// failure records the failing statement, and a later run resumes after the last one
/// applied, once it has checked that those statements did not change.
struct MigrationExecutor {
    let history: SchemaHistory
    let dialect: any SQLDialect
    let appliedBy: String
    let toolVersion: String
    let displayPath: @Sendable (MigrationFile) -> String
    let logger: Logger

    /// Whether the step's statements and its history row can commit in one transaction.
    func isTransactional(_ step: MigrationStep) -> Bool {
        dialect.supportsTransactionalDDL
            && !step.script.directives.contains(.noTransaction)
            && !step.statements.contains(where: SQLSplitter.requiresNoTransaction)
    }

    /// - Returns: the wall time the step took.
    func run(_ step: MigrationStep, on conn: any SQLConnection, existing: HistoryRecord?) throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        try checkResumable(step, existing: existing)
        if isTransactional(step) {
            try runInTransaction(step, on: conn, existing: existing, started: start)
        } else {
            try runJournaled(step, on: conn, existing: existing, started: start)
        }
        return clock.now - start
    }

    static func statementChecksum(_ statement: SQLStatement) -> String {
        String(MigrationChecksum(contents: statement.text).hex.prefix(16))
    }

    /// Refuses to resume when a statement already applied is no longer the same.
    private func checkResumable(_ step: MigrationStep, existing: HistoryRecord?) throws {
        guard step.resumeAt > 0, let existing else { return }
        let path = displayPath(step.script.file)
        guard step.resumeAt <= step.statements.count, existing.statementChecksums.count >= step.resumeAt else {
            throw MigrationError.drift("\(path): \(step.resumeAt) statements were applied, but the file now has \(step.statements.count); restore it, or fix the database by hand and run `strata migrate repair \(step.migration.version)`")
        }
        for i in 0..<step.resumeAt where Self.statementChecksum(step.statements[i]) != existing.statementChecksums[i] {
            throw MigrationError.drift("\(path):\(step.statements[i].line): statement \(i + 1) was already applied and has changed since; restore it (only statements \(step.resumeAt + 1) and later may change), or fix the database by hand and run `strata migrate repair \(step.migration.version)`")
        }
    }

    private func newRecord(_ step: MigrationStep, existing: HistoryRecord?) -> HistoryRecord {
        HistoryRecord(
            version: step.migration.version, name: step.migration.name,
            checksum: step.direction == .up ? step.migration.up.checksum.hex : (existing?.checksum ?? step.migration.up.checksum.hex),
            direction: step.direction, state: .running, appliedAt: SQLTimestamp(Date()), appliedBy: appliedBy,
            executionMilliseconds: 0, statementsTotal: step.statements.count,
            statementsApplied: step.resumeAt,
            statementChecksums: step.statements.prefix(step.resumeAt).map(Self.statementChecksum),
            error: nil, failedStatement: nil, toolVersion: toolVersion, repairedBy: nil, repairedAt: nil)
    }

    private func runInTransaction(_ step: MigrationStep, on conn: any SQLConnection, existing: HistoryRecord?,
                                  started: ContinuousClock.Instant) throws {
        try conn.executeUnprepared("BEGIN")
        var index = step.resumeAt
        do {
            while index < step.statements.count {
                try conn.executeUnprepared(step.statements[index].text)
                index += 1
            }
            if step.direction == .up {
                var record = newRecord(step, existing: existing)
                record.state = .applied
                record.statementsApplied = step.statements.count
                record.statementChecksums = step.statements.map(Self.statementChecksum)
                record.executionMilliseconds = Int64((ContinuousClock.now - started).seconds * 1000)
                if existing != nil { try history.update(conn, record) } else { try history.insert(conn, record) }
            } else {
                try history.delete(conn, version: step.migration.version)
            }
            try conn.executeUnprepared("COMMIT")
        } catch let error as DatabaseError {
            _ = try? conn.executeUnprepared("ROLLBACK")
            guard index < step.statements.count else { throw error }
            throw MigrationError.statementFailed(
                file: displayPath(step.script.file), line: step.statements[index].line, statement: index + 1,
                of: step.statements.count, error: error,
                outcome: "rolled back: nothing of this migration was applied")
        } catch {
            _ = try? conn.executeUnprepared("ROLLBACK")
            throw error
        }
    }

    private func runJournaled(_ step: MigrationStep, on conn: any SQLConnection, existing: HistoryRecord?,
                              started: ContinuousClock.Instant) throws {
        var record = newRecord(step, existing: existing)
        var stored = existing != nil
        // The row is written after each statement lands (not before the first), so a
        // migration costs one history write per statement and nothing more.
        func save() throws {
            if stored { try history.update(conn, record) } else { try history.insert(conn, record) }
            stored = true
        }
        func finish() throws {
            if step.direction == .up {
                record.state = .applied
                record.executionMilliseconds = Int64((ContinuousClock.now - started).seconds * 1000)
                try save()
            } else if stored {
                try history.delete(conn, version: step.migration.version)
            }
        }
        if step.resumeAt >= step.statements.count {
            try finish()
            return
        }
        var index = step.resumeAt
        while index < step.statements.count {
            let statement = step.statements[index]
            do {
                try conn.executeUnprepared(statement.text)
            } catch let error as DatabaseError {
                record.state = .failed
                record.error = error.description
                record.failedStatement = index + 1
                record.executionMilliseconds = Int64((ContinuousClock.now - started).seconds * 1000)
                do {
                    try save()
                } catch {
                    logger.error("could not record the failure in the history", metadata: ["error": "\(error)"])
                }
                let version = step.migration.version
                let outcome = index == 0
                    ? "no statement of it was applied; fix the file and run the command again"
                    : "statements 1–\(index) are applied and recorded; fix the file and run `strata migrate \(step.direction.rawValue)` to resume at statement \(index + 1), or fix the database by hand and run `strata migrate repair \(version)`"
                throw MigrationError.statementFailed(
                    file: displayPath(step.script.file), line: statement.line, statement: index + 1,
                    of: step.statements.count, error: error, outcome: outcome)
            }
            index += 1
            record.statementsApplied = index
            record.statementChecksums.append(Self.statementChecksum(statement))
            if index == step.statements.count {
                try finish()
            } else {
                try save()
            }
        }
    }
}
