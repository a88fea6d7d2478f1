import Logging
import StrataSQL

/// Opens PostgreSQL connections through libpq.
///
/// A statement with binds is prepared once per connection (`PQprepare`, a named
/// statement) and then run with `PQexecPrepared`: one round trip, and the server skips
/// parsing and planning, as `pgbench -M prepared` does. Up to 256 statements a connection
/// are kept. Behind PgBouncer in transaction pooling (before 1.21), where a named
/// statement would land on another server connection, add `statement_cache=off` to the
/// URL: every statement then goes out with `PQexecParams`, the unnamed statement.
/// `pooler=transaction` declares such a pooler: it implies `statement_cache=off`, and the
/// connection reports itself behind one (``SQLConnection/topology()``), as it does when
/// it detects PgBouncer by itself.
///
/// ```swift
/// let db = Database(url: try DatabaseURL("postgres://app@127.0.0.1/billing"),
///                   driver: PostgresDriver(), logger: logger)
/// ```
public struct PostgresDriver: DatabaseDriver {
    public init() {}

    public var dialect: any SQLDialect { PostgresDialect() }

    public func connect(to url: DatabaseURL, logger: Logger) throws -> any SQLConnection {
        try PostgresConnection(url: url, logger: logger)
    }
}
