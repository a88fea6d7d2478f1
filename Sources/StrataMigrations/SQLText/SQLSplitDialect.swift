import StrataSQL

/// The lexical rules the SQL splitter applies to a migration file.
///
/// The two dialects differ in what counts as a string, a comment or a statement
/// boundary: PostgreSQL has `E''` strings, dollar quotes and nested block comments;
/// MySQL has backslash escapes in every string, backticks, `#` comments, executable
/// `/*! … */` comments and the client's `DELIMITER` command. The raw value is the name
/// of the dialect's folder in a migrations directory.
public enum SQLSplitDialect: String, Sendable, Hashable, CaseIterable {
    /// PostgreSQL, split the way `psql` splits a script.
    case postgres
    /// MySQL and MariaDB, split the way the `mysql` client splits a script.
    case mysql
}

extension SQLSplitDialect {
    /// The splitting rules of the backend a database URL names.
    public init(_ backend: DatabaseURL.Backend) {
        switch backend {
        case .postgres: self = .postgres
        case .mysql: self = .mysql
        }
    }
}
