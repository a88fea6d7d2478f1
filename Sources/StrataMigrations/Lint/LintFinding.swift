/// One problem `strata migrate lint` found, at a file and line.
///
/// The text form is the `file:line: CODE severity: message` that editors and CI logs
/// link to; a waived finding says `waived` instead of its severity and carries the
/// waiver's reason.
public struct LintFinding: Hashable, Sendable, CustomStringConvertible {
    /// The rule that fired.
    public var rule: LintRule
    /// The dialect of the file.
    public var dialect: SQLSplitDialect
    /// The file, relative to the migrations directory (`postgres/0009_x.up.sql`).
    public var file: String
    /// The 1-based line: the statement's, or the clause's inside it.
    public var line: Int
    /// What is wrong here, naming the table, column or index.
    public var message: String
    /// The waiver that accepts the finding, if the file has one.
    public var waiver: LintWaiver?
    /// The 0-based index of the statement in its file, for a statement's finding: two
    /// statements may share a line, and a waiver covers one statement.
    var statement: Int?

    /// Creates a finding.
    public init(rule: LintRule, dialect: SQLSplitDialect, file: String, line: Int, message: String,
                waiver: LintWaiver? = nil) {
        self.rule = rule
        self.dialect = dialect
        self.file = file
        self.line = line
        self.message = message
        self.waiver = waiver
    }

    /// Whether a waiver accepts the finding.
    public var isWaived: Bool { waiver != nil }

    /// The severity, which is the rule's.
    public var severity: LintSeverity { rule.severity }

    /// The squawk rule that catches the same thing, on PostgreSQL files only.
    public var squawkRule: String? { dialect == .postgres ? rule.squawk : nil }

    public var description: String {
        let squawk = squawkRule.map { " [squawk: \($0)]" } ?? ""
        if let waiver {
            return "\(file):\(line): \(rule.code) waived: \(message)\(squawk) (\(waiver.reason))"
        }
        return "\(file):\(line): \(rule.code) \(severity.rawValue): \(message)\(squawk)"
    }
}
