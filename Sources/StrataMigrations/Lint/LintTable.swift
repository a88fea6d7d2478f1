/// What the lint knows of one table: whether it is new, and its columns as the
/// migration files defined them.
struct LintTable: Sendable {
    /// Created by a migration being linted, so it has no rows and no traffic yet.
    var isNew: Bool
    /// The columns, by name.
    var columns: [String: DDLColumn] = [:]
    /// Columns a validated `CHECK (c IS NOT NULL)` covers, which lets `SET NOT NULL`
    /// skip its scan.
    var provenNotNull: Set<String> = []
    /// `NOT VALID` checks not yet validated, by name, with the columns they cover.
    var unvalidatedChecks: [String: [String]] = [:]
}
