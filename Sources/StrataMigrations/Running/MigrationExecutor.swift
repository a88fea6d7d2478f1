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
///
/// Under a leased lock (the table lock) every write to the history and the journal goes
/// through ``SchemaHistory/transaction(_:_:)`` or ``SchemaHistory/write(_:_:)``, which
/// confirm in the write's transaction that the run still holds the lock: a run whose
/// lock was taken over stops at its next write, and what it had not recorded rolls back.
struct MigrationExecutor {
    let history: SchemaHistory
    var journal: StatementJournal { history.journal }
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
    /// - Parameter isCancelled: asked before each statement; `true` stops the run there,
    ///   recorded as interrupted.
    func run(_ step: MigrationStep, on conn: any SQLConnection, existing: HistoryRecord?,
             isCancelled: () -> Bool = { false }) throws -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        try checkResumable(step, existing: existing)
        if isCancelled() {
            throw MigrationError.interrupted("\(displayPath(step.script.file)): canceled before it started; nothing of it ran")
        }
        if isTransactional(step) {
            try runInTransaction(step, on: conn, existing: existing, started: start)
        } else {
            try runJournaled(step, on: conn, existing: existing, started: start, isCancelled: isCancelled)
        }
        return clock.now - start
    }

    /// Why a run stops at a statement that may or may not have completed, and what to do.
    static func uncertainMessage(path: String, version: MigrationVersion, uncertain: HistoryRecord.UncertainStatement,
                                 statements: [SQLStatement]) -> String {
        let text = uncertain.number <= statements.count ? statements[uncertain.number - 1].text : ""
        let words = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let shown = words.count > 60 ? "\(words.prefix(60))…" : words
        return "\(path):\(uncertain.line): statement \(uncertain.number)\(shown.isEmpty ? "" : " (\(shown))") was running when a run was interrupted, and it commits by itself: Strata cannot know whether it completed. Check the schema, then run `strata migrate repair \(version) --completed` if it did, or `--not-completed` if it did not"
    }

    static func statementChecksum(_ statement: SQLStatement) -> String {
        String(MigrationChecksum(contents: statement.text).hex.prefix(16))
    }

    /// Refuses to resume when a statement already applied is no longer the same.
    private func checkResumable(_ step: MigrationStep, existing: HistoryRecord?) throws {
        guard let existing else { return }
        let path = displayPath(step.script.file)
        if let uncertain = existing.uncertainStatement {
            throw MigrationError.uncertain(Self.uncertainMessage(path: path, version: step.migration.version,
                                                                 uncertain: uncertain, statements: step.statements))
        }
        guard step.resumeAt > 0 else { return }
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
        var index = step.resumeAt
        do {
            // The history row commits only while the run holds its lock.
            try history.transaction(conn) {
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
                // Rows an earlier statement-by-statement run of it left behind.
                if existing != nil { try journal.delete(conn, version: step.migration.version) }
            }
        } catch let error as DatabaseError where index < step.statements.count {
            throw MigrationError.statementFailed(
                file: displayPath(step.script.file), line: step.statements[index].line, statement: index + 1,
                of: step.statements.count, error: error,
                outcome: "rolled back: nothing of this migration was applied")
        }
    }

    /// Runs a step statement by statement, each recorded in the journal as it lands.
    ///
    /// Statements that only change rows run in a transaction with their journal rows
    /// (consecutive ones share it, up to ``maxGroup`` statements or a second), so each is
    /// applied and recorded, or neither. A statement that commits by itself is announced
    /// in the journal first and marked applied when the server answers; if the run dies
    /// in between, the next one stops at it instead of guessing.
    private func runJournaled(_ step: MigrationStep, on conn: any SQLConnection, existing: HistoryRecord?,
                              started: ContinuousClock.Instant, isCancelled: () -> Bool) throws {
        let version = step.migration.version
        let statements = step.statements
        let total = statements.count
        let split = SQLSplitDialect(dialect.backend)
        let path = displayPath(step.script.file)
        var record = newRecord(step, existing: existing)
        // The statements' checksums live in the journal until the migration finishes.
        record.statementChecksums = []
        var stored = existing != nil

        func entry(_ i: Int, _ state: StatementJournal.State = .applied) -> StatementJournal.Entry {
            StatementJournal.Entry(statement: i + 1, line: statements[i].line,
                                   checksum: Self.statementChecksum(statements[i]), state: state)
        }
        func saveRecord() throws {
            record.executionMilliseconds = Int64((ContinuousClock.now - started).seconds * 1000)
            if stored { try history.update(conn, record) } else { try history.insert(conn, record) }
            stored = true
        }
        /// A statement that commits by itself and landed, whose journal row still says
        /// `started`: it is marked applied with the next journal write (one round trip for
        /// both), or here when the run stops.
        var landed: Int?
        func landedEntries() -> [StatementJournal.Entry] {
            landed.map { [entry($0)] } ?? []
        }
        /// Marks the landed statement applied on its own, when no journal write follows
        /// that could carry it: before a transaction of row statements (which a killed run
        /// rolls back, mark included) and when the run stops.
        func markLanded() throws {
            guard let k = landed else { return }
            // Landed: record it, even if a cancel meant for the run arrives now.
            do {
                try history.write(conn) { try journal.markApplied(conn, version: version, statement: k + 1) }
            } catch let error as DatabaseError where error.category == .canceled {
                try history.write(conn) { try journal.markApplied(conn, version: version, statement: k + 1) }
            }
            landed = nil
        }
        /// Records how the run ended when a statement did not land, without hiding the reason.
        func recordStop() {
            do {
                try markLanded()
                try history.write(conn) { try saveRecord() }
            } catch {
                logger.error("could not record in the history where the run stopped", metadata: ["error": "\(error)"])
            }
        }
        // The journal starts as the history says: rows an earlier run left for another
        // direction go, and a resumed run (also one recorded before the journal existed)
        // gets the rows of the statements it keeps, checked by `checkResumable` already.
        if existing == nil {
            // A first run: no journal rows can exist for it (the history row goes last).
            try history.write(conn) { try saveRecord() }
        } else {
            try history.transaction(conn) {
                try journal.delete(conn, version: version)
                try journal.recordApplied(conn, version: version, (0..<step.resumeAt).map { entry($0) })
                try saveRecord()
            }
        }
        // Asked only when a statement could exceed it: no server accepts less than 1 KiB.
        var limit: Int??
        func maxStatementBytes() throws -> Int? {
            if let limit { return limit }
            let value = try dialect.maxStatementBytesQuery.flatMap { try conn.queryFirst($0)?.decode("n", as: Int64.self) }.map(Int.init)
            limit = .some(value)
            return value
        }
        let manipulatesData = statements.map { SQLSplitter.isDataManipulation($0, dialect: split) }

        var index = step.resumeAt
        /// The statements run in the open transaction, not yet committed.
        var group: [Int] = []
        var groupStarted = ContinuousClock.now

        func interrupted(_ reason: String, at failing: Int) -> MigrationError {
            record.state = .running
            record.error = reason
            recordStop()
            let done = record.statementsApplied
            return .interrupted("\(path):\(statements[failing].line): \(reason) during statement \(failing + 1) of \(total); \(Self.applied(done)); `strata migrate \(step.direction.rawValue)` resumes at statement \(done + 1)")
        }
        func failed(_ error: DatabaseError, at failing: Int, rolledBack: [Int] = [], uncertain: Bool = false) -> MigrationError {
            record.state = .failed
            record.error = error.description
            if statements[failing].isUnsplitChunk {
                // The history says the statement was a whole chunk, not one the grammar knew.
                record.error = error.description + " (a DELIMITER chunk sent whole: its BEGIN … END blocks do not balance)"
            }
            record.failedStatement = failing + 1
            let done = record.statementsApplied
            var outcome: String
            if uncertain {
                outcome = "the connection was lost while the statement ran, and it commits by itself: Strata cannot know whether it completed; check the schema, then run `strata migrate repair \(version) --completed` or `--not-completed`"
            } else {
                recordStop()
                outcome = done == 0
                    ? "no statement of it is applied; fix the file and run the command again"
                    : "\(Self.applied(done)); fix the file and run `strata migrate \(step.direction.rawValue)` to resume at statement \(done + 1), or fix the database by hand and run `strata migrate repair \(version)`"
                if let first = rolledBack.first, let last = rolledBack.last {
                    outcome += first == last
                        ? " (statement \(first + 1) ran in its transaction and was rolled back with it)"
                        : " (statements \(first + 1)–\(last + 1) ran in its transaction and were rolled back with it)"
                }
            }
            return .statementFailed(file: path, line: statements[failing].line, statement: failing + 1, of: total,
                                    error: error, outcome: outcome)
        }
        /// Rolls the open transaction back; returns the statements it undid.
        func rollbackGroup() -> [Int] {
            defer { group = [] }
            if !conn.isBroken { _ = try? conn.rollbackTransaction() }
            return group
        }

        func commitGroup() throws {
            guard let last = group.last else { return }
            try journal.write(conn, version: version, group.map { entry($0) })
            do {
                try history.confirmHeld(conn)
            } catch {
                // Another run holds the lock now: what this group did must not land.
                _ = rollbackGroup()
                throw error
            }
            try conn.commitTransaction()
            record.statementsApplied = last + 1
            group = []
        }

        while index < total {
            let statement = statements[index]
            if isCancelled() {
                _ = rollbackGroup()
                throw interrupted("canceled", at: index)
            }
            let size = statement.text.utf8.count
            if size > 1024, let maxStatementBytes = try maxStatementBytes(), size > maxStatementBytes {
                let undone = rollbackGroup()
                throw failed(DatabaseError(.other, message: "the statement is \(size) bytes, more than the server accepts (max_allowed_packet = \(maxStatementBytes) bytes): split it, or raise the server's limit"),
                             at: index, rolledBack: undone)
            }
            if manipulatesData[index] {
                do {
                    if group.isEmpty {
                        try markLanded()
                        try conn.beginTransaction()
                        groupStarted = .now
                    }
                    _ = try conn.executeUnprepared(statement.text)
                    group.append(index)
                    if index + 1 == total || !manipulatesData[index + 1] || group.count >= Self.maxGroup
                        || ContinuousClock.now - groupStarted > .seconds(1) {
                        try commitGroup()
                    }
                } catch let error as DatabaseError {
                    // The server rolls back what the transaction did; the journal says what landed.
                    let undone = rollbackGroup()
                    if error.category == .canceled { throw interrupted("canceled", at: index) }
                    throw failed(error, at: index, rolledBack: undone)
                }
            } else {
                try commitGroup()
                // Marks the statement before applied and announces this one: one round trip.
                try history.write(conn) { try journal.write(conn, version: version, landedEntries() + [entry(index, .started)]) }
                landed = nil
                do {
                    _ = try conn.executeUnprepared(statement.text)
                } catch let error as DatabaseError {
                    switch error.category {
                    case .connectionLost:
                        // The server may still finish it: the `started` row stays.
                        throw failed(error, at: index, uncertain: true)
                    case .canceled:
                        // The server answered that it stopped the statement: not applied.
                        try? history.write(conn) { try journal.removeStarted(conn, version: version, statement: index + 1) }
                        throw interrupted("canceled", at: index)
                    default:
                        try? history.write(conn) { try journal.removeStarted(conn, version: version, statement: index + 1) }
                        throw failed(error, at: index)
                    }
                }
                // It landed: marked applied in the journal with the next write.
                landed = index
                record.statementsApplied = index + 1
            }
            index += 1
        }

        // Finished: the history row takes the checksums, the journal rows go.
        if step.direction == .up {
            // No transaction needed, and no delete: once the history row says applied,
            // the journal is not read for this version; the run clears the rows of every
            // finished version at its end (``StatementJournal/deleteFinished(_:history:)``),
            // and a `down` of the version clears them first. The last statement's
            // `started` row goes with the rest, never marked.
            landed = nil
            record.state = .applied
            record.error = nil
            record.failedStatement = nil
            record.statementsApplied = total
            record.statementChecksums = statements.map(Self.statementChecksum)
            try history.write(conn) { try saveRecord() }
        } else {
            // Down: the history row and the journal rows go together, or a later `up`
            // would find rows of a version it believes new.
            try history.transaction(conn) {
                if stored { try history.delete(conn, version: version) }
                try journal.delete(conn, version: version)
            }
        }
    }

    /// `statements 1–3 are applied and recorded`, for messages.
    static func applied(_ count: Int) -> String {
        switch count {
        case 0: "no statement of it is applied"
        case 1: "statement 1 is applied and recorded"
        default: "statements 1–\(count) are applied and recorded"
        }
    }

    /// The most statements that share one transaction in a journaled run.
    static let maxGroup = 1000
}
