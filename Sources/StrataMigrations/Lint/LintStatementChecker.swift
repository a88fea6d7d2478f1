import Foundation

/// Applies the statement rules to the statements of one up file, in order.
///
/// It is made per file because two rules look across a file's statements: a
/// `lock_timeout` set earlier in the file covers the DDL after it (ST302), and a MySQL
/// file with several DDL statements is judged once it is all read (ST201). The schema
/// it is given is the one *before* the statement, so a table the statement creates is
/// not yet known and one created earlier in the linted set is new.
struct LintStatementChecker {
    let dialect: SQLSplitDialect
    let file: String
    /// Whether the file runs statement by statement: always on MySQL (DDL commits by
    /// itself), on PostgreSQL when it says `-- strata:no-transaction` or holds a
    /// statement that cannot run in a transaction (`CREATE INDEX CONCURRENTLY`).
    let runsStatementByStatement: Bool
    private(set) var findings: [LintFinding] = []
    private var lockTimeoutSet = false
    private var lockTimeoutReported = false
    private var ddlStatements = 0
    private var firstExistingTableChange: (line: Int, statement: Int)?
    private var statementIndex = 0

    init(dialect: SQLSplitDialect, file: String, runsStatementByStatement: Bool) {
        self.dialect = dialect
        self.file = file
        self.runsStatementByStatement = runsStatementByStatement
    }

    private var postgres: Bool { dialect == .postgres }

    private mutating func report(_ rule: LintRule, _ line: Int, _ message: String) {
        guard rule.dialects.contains(dialect) else { return }
        var finding = LintFinding(rule: rule, dialect: dialect, file: file, line: line, message: message)
        finding.statement = statementIndex
        findings.append(finding)
    }

    /// Checks one statement against the schema as it stands before it.
    ///
    /// - Parameters:
    ///   - statement: The recognised statement.
    ///   - line: The statement's first line.
    ///   - index: The statement's 0-based index in the file.
    ///   - schema: The schema before the statement.
    mutating func check(_ statement: DDLStatement, line: Int, index: Int, schema: LintSchema) {
        statementIndex = index
        var locksExistingTable = false
        var changesExistingTable = false
        switch statement {
        case .dataChange:
            return
        case .setsLockTimeout:
            lockTimeoutSet = true
            return
        case .other(let isDDL):
            if isDDL { ddlStatements += 1 }
            return
        case .createTable:
            break
        case .dropSchema(let kind, let name):
            report(.dropSchema, line, "DROP \(kind.uppercased()) \(name) deletes everything in it")
        case .dropTables(let names):
            for name in names where !schema.isNew(name) {
                report(.dropTable, line, "DROP TABLE \(name) deletes the table and its rows")
                changesExistingTable = true
                locksExistingTable = true
            }
        case .truncate(let names):
            for name in names where !schema.isNew(name) {
                report(.truncate, line, "TRUNCATE \(name) deletes every row of an existing table")
                changesExistingTable = true
                locksExistingTable = true
            }
        case .createIndex(let name, let table, let unique, let concurrently, _):
            guard !schema.isNew(table) else { break }
            changesExistingTable = true
            let label = name.map { "\($0) on \(table)" } ?? "on \(table)"
            if unique {
                report(.addUnique, line, "unique index \(label) fails if \(table) holds duplicates")
            }
            if postgres, !concurrently {
                report(.createIndexLocking, line,
                       "CREATE INDEX \(label) without CONCURRENTLY blocks writes to \(table) while the index builds")
                locksExistingTable = true
            }
        case .dropIndexes(let names, let concurrently, let table):
            for name in names {
                let owner = table ?? schema.table(ofIndex: name)
                guard !(owner.map(schema.isNew) ?? false) else { continue }
                changesExistingTable = true
                if postgres, !concurrently {
                    let on = owner.map { " on \($0)" } ?? ""
                    report(.dropIndexLocking, line,
                           "DROP INDEX \(name)\(on) without CONCURRENTLY takes an ACCESS EXCLUSIVE lock: reads and writes wait")
                    locksExistingTable = true
                }
            }
        case .renameTables(let from, let to):
            for (old, new) in zip(from, to) where !schema.isNew(old) {
                report(.renameTable, line, "renaming \(old) to \(new) breaks clients still using \(old)")
                changesExistingTable = true
                locksExistingTable = true
            }
        case .alterTable(let table, let actions):
            guard !schema.isNew(table) else { break }
            changesExistingTable = true
            for action in actions {
                if check(action, table: table, schema: schema) { locksExistingTable = true }
            }
        }
        ddlStatements += 1
        if changesExistingTable, firstExistingTableChange == nil { firstExistingTableChange = (line, index) }
        if postgres, locksExistingTable, !lockTimeoutSet, !lockTimeoutReported {
            lockTimeoutReported = true
            report(.missingLockTimeout, line,
                   "no lock_timeout is set before this DDL: while it waits for its lock, every query on the table queues behind it")
        }
    }

    /// Checks one `ALTER TABLE` action on an existing table.
    ///
    /// - Returns: Whether the action takes a lock that blocks writes.
    private mutating func check(_ action: DDLAlterAction, table: String, schema: LintSchema) -> Bool {
        let line = action.line
        switch action.change {
        case .addColumn(let column):
            if column.notNull, column.defaultExpression == nil, !column.isGenerated {
                if postgres {
                    report(.addRequiredColumn, line,
                           "column \(table).\(column.name) is NOT NULL without a DEFAULT: the ALTER fails as soon as \(table) has a row")
                } else {
                    report(.mysqlRequiredColumn, line,
                           "column \(table).\(column.name) is NOT NULL without a DEFAULT: existing rows get the zero value of \(column.typeName.uppercased())")
                }
            }
            if postgres, column.hasVolatileDefault || column.writesEveryRow {
                let what = column.hasVolatileDefault
                    ? "a volatile DEFAULT (\(column.defaultExpression!.map(\.text).joined()))"
                    : "a value computed for every row (\(column.typeText))"
                report(.volatileDefault, line,
                       "column \(table).\(column.name) has \(what): PostgreSQL rewrites \(table) under an ACCESS EXCLUSIVE lock")
            }
            if postgres, column.isPrimaryKey {
                report(.addPrimaryKeyLocking, line,
                       "PRIMARY KEY on the new column \(table).\(column.name) builds its index under an ACCESS EXCLUSIVE lock")
            } else if postgres, column.isUnique {
                report(.addUniqueLocking, line,
                       "UNIQUE on the new column \(table).\(column.name) builds its index under an ACCESS EXCLUSIVE lock")
            }
            return true
        case .dropColumn(let column):
            report(.dropColumn, line, "dropping \(table).\(column) deletes its data")
            return true
        case .renameTable(let new):
            report(.renameTable, line, "renaming \(table) to \(new) breaks clients still using \(table)")
            return true
        case .renameColumn(let from, let to):
            report(.renameColumn, line, "renaming \(table).\(from) to \(to) breaks clients still using \(from)")
            return true
        case .changeType(let column, let type):
            let old = schema.column(column, of: table)
            if let old, Self.isBinaryCompatible(from: old.type, to: type) { return true }
            let from = old.map { " from \($0.typeText)" } ?? ""
            report(.columnTypeRewrite, line,
                   "changing \(table).\(column)\(from) to \(type.joined()) rewrites \(table) and its indexes under an ACCESS EXCLUSIVE lock")
            return true
        case .setNotNull(let column):
            if schema.column(column, of: table)?.notNull == true { return true }
            guard !schema.isProvenNotNull(column, of: table) else { return true }
            report(.setNotNull, line, "SET NOT NULL on \(table).\(column) fails if a row holds NULL")
            report(.setNotNullScan, line,
                   "SET NOT NULL on \(table).\(column) scans the whole table under an ACCESS EXCLUSIVE lock")
            return true
        case .validateConstraint:
            // SHARE UPDATE EXCLUSIVE: writes go on while the rows are checked.
            return false
        case .dropNotNull, .dropConstraint:
            return true
        case .redefineColumn(let column, let previous):
            if previous != column.name {
                report(.renameColumn, line, "renaming \(table).\(previous) to \(column.name) breaks clients still using \(previous)")
            }
            let old = schema.column(previous, of: table)
            if column.notNull, old?.notNull != true {
                let known = old == nil ? "if it was nullable, " : ""
                report(.setNotNull, line,
                       "\(table).\(column.name) becomes NOT NULL: \(known)the ALTER fails on a NULL in strict mode, or turns it into a zero value")
            }
            if let oldValues = old?.enumValues, let newValues = column.enumValues, old?.typeName == column.typeName {
                checkEnum(from: oldValues, to: newValues, isSet: column.typeName == "set",
                          label: "\(table).\(column.name)", line: line)
            }
            return true
        case .addConstraint(let constraint):
            let label = constraint.name.map { " \($0)" } ?? ""
            switch constraint.kind {
            case .primaryKey where postgres:
                if !constraint.usingIndex {
                    report(.addPrimaryKeyLocking, line,
                           "PRIMARY KEY\(label) on \(table) builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait")
                }
                let columns = constraint.usingIndex ? constraint.index.flatMap(schema.columns(ofIndex:)) ?? [] : constraint.columns
                // Only columns whose definition the files give: an unknown one may well be NOT NULL.
                let nullable = columns.filter {
                    schema.column($0, of: table).map { !$0.notNull } == true && !schema.isProvenNotNull($0, of: table)
                }
                if !nullable.isEmpty {
                    report(.primaryKeyOnNullable, line,
                           "PRIMARY KEY\(label) makes \(nullable.map { "\(table).\($0)" }.joined(separator: ", ")) NOT NULL: a scan of \(table) under an ACCESS EXCLUSIVE lock")
                }
            case .unique:
                if !constraint.usingIndex {
                    report(.addUnique, line, "UNIQUE\(label) on \(table) fails if \(table) holds duplicates")
                }
                if postgres, !constraint.usingIndex {
                    report(.addUniqueLocking, line,
                           "UNIQUE\(label) on \(table) builds its index under an ACCESS EXCLUSIVE lock: reads and writes wait")
                }
            case .check where postgres && !constraint.notValid:
                report(.checkWithoutNotValid, line,
                       "CHECK\(label) on \(table) scans every row under an ACCESS EXCLUSIVE lock")
            case .foreignKey where postgres && !constraint.notValid:
                report(.foreignKeyWithoutNotValid, line,
                       "FOREIGN KEY\(label) on \(table) scans every row while writes to both tables wait")
            default:
                break
            }
            return true
        case .other:
            return true
        }
    }

    /// Reports an `ENUM` or `SET` whose new list is not the old one with values appended.
    private mutating func checkEnum(from old: [String], to new: [String], isSet: Bool, label: String, line: Int) {
        guard old != new else { return }
        let kind = isSet ? "SET" : "ENUM"
        let removed = old.filter { !new.contains($0) }
        if !removed.isEmpty {
            report(isSet ? .setValueRemoved : .enumValueRemoved, line,
                   "\(kind) \(label) loses \(removed.map { "'\($0)'" }.joined(separator: ", ")): MySQL copies the table, blocking writes")
            return
        }
        if Array(new.prefix(old.count)) == old {
            if isSet {
                if Self.setBytes(old.count) != Self.setBytes(new.count) {
                    report(.setStorageGrows, line,
                           "SET \(label) grows from \(old.count) to \(new.count) values: its storage size changes and MySQL copies the table")
                }
            } else if old.count <= 255, new.count > 255 {
                report(.enumStorageGrows, line,
                       "ENUM \(label) grows past 255 values: its storage size changes and MySQL copies the table")
            }
            return
        }
        let positions = old.compactMap { new.firstIndex(of: $0) }
        if positions == positions.sorted() {
            let inserted = new.filter { !old.contains($0) }.map { "'\($0)'" }.joined(separator: ", ")
            report(isSet ? .setInsertedNotAtEnd : .enumInsertedNotAtEnd, line,
                   "\(kind) \(label) gains \(inserted) before its last value: MySQL copies the table, blocking writes")
        } else {
            report(isSet ? .setReordered : .enumReordered, line,
                   "\(kind) \(label) reorders its values: MySQL copies the table, blocking writes")
        }
    }

    /// The bytes a `SET` of `count` values takes: 1, 2, 3, 4 or 8.
    private static func setBytes(_ count: Int) -> Int {
        let bytes = (count + 7) / 8
        return bytes > 4 ? 8 : bytes
    }

    /// Whether PostgreSQL changes a column from one type to another without rewriting
    /// the table: the same type, a `varchar` made longer or unbounded, `varchar` to
    /// `text`, a `numeric` given more precision at the same scale or none.
    static func isBinaryCompatible(from old: [String], to new: [String]) -> Bool {
        func normalised(_ type: [String]) -> String {
            type.joined().replacingOccurrences(of: "charactervarying", with: "varchar")
        }
        let (a, b) = (normalised(old), normalised(new))
        if a == b { return true }
        func bounded(_ type: String, _ base: String) -> [Int]? {
            guard type.hasPrefix(base + "("), type.hasSuffix(")") else { return nil }
            return type.dropFirst(base.count + 1).dropLast().split(separator: ",").compactMap { Int($0) }
        }
        let textual = a == "text" || a == "varchar" || bounded(a, "varchar") != nil
        if textual, b == "text" || b == "varchar" { return true }
        if let n = bounded(a, "varchar")?.first, let m = bounded(b, "varchar")?.first { return m >= n }
        if a.hasPrefix("numeric"), b == "numeric" { return true }
        if let p = bounded(a, "numeric"), let q = bounded(b, "numeric"), p.count == 2, q.count == 2 {
            return q[0] >= p[0] && q[1] == p[1]
        }
        return false
    }

    /// Ends the file: judges what needs the whole file (ST201).
    mutating func finish() {
        if runsStatementByStatement, ddlStatements > 1, let (line, index) = firstExistingTableChange {
            statementIndex = index
            let why = postgres
                ? "it runs outside a transaction (CONCURRENTLY or -- strata:no-transaction), statement by statement"
                : "MySQL commits each on its own"
            report(.nonAtomicFile, line,
                   "this up runs \(ddlStatements) DDL statements and \(why): if a later one fails, the earlier ones stay applied and the schema is half-changed until the file is fixed and the run resumes")
        }
    }
}
