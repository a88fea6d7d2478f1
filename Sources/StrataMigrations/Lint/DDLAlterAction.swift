/// One action of an `ALTER TABLE`, such as `ADD COLUMN` or `ALTER COLUMN … TYPE`.
///
/// An `ALTER TABLE` may carry several, separated by commas; each keeps the line it
/// starts on, so a finding points at the clause, not at the statement's first line.
struct DDLAlterAction: Sendable, Hashable {
    enum Change: Sendable, Hashable {
        case addColumn(DDLColumn)
        case dropColumn(String)
        case renameTable(to: String)
        case renameColumn(from: String, to: String)
        /// PostgreSQL's `ALTER COLUMN c [SET DATA] TYPE t`.
        case changeType(column: String, type: [String])
        case setNotNull(column: String)
        case dropNotNull(column: String)
        /// MySQL's `MODIFY` (same name) and `CHANGE` (old name, new definition).
        case redefineColumn(DDLColumn, previousName: String)
        case addConstraint(DDLConstraint)
        case validateConstraint(String)
        case dropConstraint(String)
        /// Anything else: `SET DEFAULT`, storage options, `ALGORITHM=…`.
        case other
    }

    var change: Change
    var line: Int
}
