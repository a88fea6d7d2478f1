import StrataSQL

/// The SQL that MySQL 8 and MariaDB 10.6+ speak where it differs from the defaults.
///
/// Placeholders are `?`, identifiers are quoted with backticks, DDL commits itself and
/// there is no `RETURNING` (the driver reports the `AUTO_INCREMENT` id instead). An
/// upsert is `ON DUPLICATE KEY UPDATE`; named locks are `GET_LOCK` / `RELEASE_LOCK`.
///
/// ```swift
/// let upsert = try MySQLDialect().upsertClause(conflictColumns: ["code"], updating: ["price"])
/// // ON DUPLICATE KEY UPDATE `price` = VALUES(`price`)
/// ```
public struct MySQLDialect: SQLDialect {
    /// Whether the server is a Galera node (its connection asks `wsrep_on` at connect).
    public var isClusterNode: Bool

    public init(isClusterNode: Bool = false) {
        self.isClusterNode = isClusterNode
    }

    public var rowLocksHoldClusterWide: Bool { !isClusterNode }

    public var backend: DatabaseURL.Backend { .mysql }
    public var identifierQuote: Character { "`" }
    public var supportsTransactionalDDL: Bool { false }
    public var supportsReturning: Bool { false }
    /// A longer statement makes the server drop the connection ("server has gone away").
    public var maxStatementBytesQuery: SQLQuery? { "SELECT @@max_allowed_packet AS n" }
    /// MariaDB has it from 10.6, MySQL from 8.0. On a Galera node, nothing: a row lock there holds against this node's transactions
    /// only, and makes its transaction the target of a brute-force abort whenever a write
    /// replicated from another node touches a locked row, read or not. Claims there rest
    /// on conditional writes, which certification arbitrates.
    public var forUpdateSkipLocked: String { isClusterNode ? "" : "FOR UPDATE SKIP LOCKED" }

    /// The server's own `sql_mode`, `time_zone` and (MariaDB) isolation level, as the
    /// `mariadb` client gets them, instead of the services' strict UTC `READ COMMITTED`
    /// session. The character set stays utf8mb4, since migration files are read as
    /// UTF-8, with utf8mb4's default collation, as a client asking for utf8mb4 gets.
    /// The isolation variable is `tx_isolation` on MariaDB and `transaction_isolation` on
    /// MySQL 8, which has no other: MariaDB's executable comment keeps MySQL at
    /// `READ COMMITTED`.
    public var migrationSessionSetup: [String] {
        ["SET NAMES utf8mb4, time_zone = @@GLOBAL.time_zone, sql_mode = @@GLOBAL.sql_mode"
            + " /*M!100000 , tx_isolation = @@GLOBAL.tx_isolation */"]
    }

    /// `DATABASE()`: MySQL's schema is the database.
    public var currentSchemaExpression: String { "DATABASE()" }

    /// InnoDB (transactions, row locks, foreign keys) and utf8mb4, whatever the server's defaults.
    /// Starts with a space: it follows the closing parenthesis directly.
    public var createTableSuffix: String { " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci" }

    /// MySQL's names; times are `DATETIME(6)` holding UTC, which `time_zone` never shifts.
    public func columnType(_ type: SQLColumnType) -> String {
        switch type {
        case .bigint: "BIGINT"
        case .integer: "INT"
        case .boolean: "BOOLEAN"
        case .varchar(let n): "VARCHAR(\(n))"
        case .longText: "LONGTEXT"
        case .timestamp: "DATETIME(6)"
        case .json: "JSON"
        case .decimal20: "DECIMAL(20,0)"
        }
    }

    /// `ON DUPLICATE KEY UPDATE c = VALUES(c), …`.
    ///
    /// MySQL picks the conflicting key itself, so `conflictColumns` only matters for
    /// "do nothing": an empty `updating` list becomes a no-op update of the first
    /// conflict column (`k = k`). `INSERT IGNORE` would also swallow other errors
    /// (bad values, foreign keys), so it is never used. `VALUES(c)` is what MariaDB
    /// understands; MySQL 8 still accepts it (with a deprecation note).
    /// - Throws: ``DatabaseError`` `.invalidIdentifier` for a bad column name, or
    ///   `.other` when both lists are empty.
    public func upsertClause(conflictColumns: [String], updating: [String]) throws -> String {
        if updating.isEmpty {
            guard let key = conflictColumns.first else {
                throw DatabaseError(.other, message: "an upsert that updates nothing needs at least one conflict column")
            }
            let q = try quoteIdentifier(key)
            return "ON DUPLICATE KEY UPDATE \(q) = \(q)"
        }
        let sets = try updating.map { column -> String in
            let q = try quoteIdentifier(column)
            return "\(q) = VALUES(\(q))"
        }
        return "ON DUPLICATE KEY UPDATE " + sets.joined(separator: ", ")
    }

    /// `SELECT GET_LOCK(?, 0) AS acquired`: 1 when taken, 0 when another session holds it.
    public func tryLockQuery(name: String) -> SQLQuery {
        "SELECT GET_LOCK(\(Self.lockName(name)), 0) AS acquired"
    }

    /// `SELECT RELEASE_LOCK(?) AS released`.
    public func releaseLockQuery(name: String) -> SQLQuery {
        "SELECT RELEASE_LOCK(\(Self.lockName(name))) AS released"
    }

    /// The most characters MySQL 5.7+ accepts in a lock name.
    public static let maxLockNameLength = 64

    /// The name sent to `GET_LOCK` for a Strata lock name.
    ///
    /// Names of at most 64 characters go as they are. Longer ones keep their first 47
    /// characters, then `#` and 16 hex digits of a 64-bit FNV-1a hash of the whole
    /// name, so the result is the same in every process and on every machine.
    ///
    /// ```swift
    /// MySQLDialect.lockName("strata_migrations")   // "strata_migrations"
    /// ```
    public static func lockName(_ name: String) -> String {
        let scalars = name.unicodeScalars
        guard scalars.count > maxLockNameLength else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        let digits = String(repeating: "0", count: 16 - hex.count) + hex
        var prefix = String.UnicodeScalarView()
        prefix.append(contentsOf: scalars.prefix(maxLockNameLength - 17))
        return String(prefix) + "#" + digits
    }
}
