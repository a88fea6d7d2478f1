/// What a migration statement does, as far as the lint needs to know.
///
/// The recogniser (``DDLRecognizer``) reads the forms that change a schema's shape or
/// lock its tables; anything else is ``other(isDDL:)``.
enum DDLStatement: Sendable, Hashable {
    case createTable(name: String, columns: [DDLColumn], constraints: [DDLConstraint])
    case dropTables([String])
    /// `DROP SCHEMA` or `DROP DATABASE`: `kind` is the keyword.
    case dropSchema(kind: String, name: String)
    case truncate([String])
    case createIndex(name: String?, table: String, unique: Bool, concurrently: Bool, columns: [String])
    /// `DROP INDEX`; `table` is MySQL's `ON table`.
    case dropIndexes([String], concurrently: Bool, table: String?)
    case alterTable(String, [DDLAlterAction])
    /// MySQL's `RENAME TABLE a TO b, …`: the old names and the new ones, pairwise.
    case renameTables(from: [String], to: [String])
    /// `SET [LOCAL] lock_timeout …` or `set_config('lock_timeout', …)`.
    case setsLockTimeout
    /// `INSERT`, `UPDATE`, `DELETE`, `SELECT` and the like.
    case dataChange
    /// Anything else; `isDDL` when it commits by itself on MySQL (not a `SET`).
    case other(isDDL: Bool)
}
