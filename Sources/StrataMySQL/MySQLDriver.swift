import Logging
import StrataSQL

/// Opens MySQL and MariaDB connections through libmariadb (MariaDB Connector/C).
///
/// Each session is set up the same way: utf8mb4 with `utf8mb4_unicode_ci`, times in
/// UTC (`time_zone = '+00:00'`), a strict `sql_mode`, `READ COMMITTED` isolation (as
/// PostgreSQL's default, so both backends behave alike under concurrency), and
/// rows-affected counting matched rows rather than changed ones. Statements with
/// binds go out as server-side prepared statements, cached per connection.
///
/// ```swift
/// let db = Database(url: try DatabaseURL("mysql://app:secret@127.0.0.1:3306/billing"),
///                   driver: MySQLDriver(), logger: logger)
/// ```
public struct MySQLDriver: DatabaseDriver {
    public init() {}

    public var dialect: any SQLDialect { MySQLDialect() }

    /// Opens one connection, waiting at most `url.connectTimeout` seconds.
    ///
    /// `sslmode` may be `disable`, `prefer` (the library's default: no TLS without
    /// certificates), `require` (TLS, server certificate not checked) or `verify-ca` /
    /// `verify-full` (TLS with the certificate checked, against `sslrootcert` when given).
    /// - Throws: ``DatabaseError``: `.authentication` (1045), `.unknownDatabase` (1049),
    ///   `.connectionRefused` (2002, 2003, a hang-up before the connect timeout),
    ///   `.timeout` (no answer within the connect timeout), `.other`; the one-line message
    ///   names host, port and database, never the password.
    public func connect(to url: DatabaseURL, logger: Logger) throws -> any SQLConnection {
        try MySQLConnection(url: url, logger: logger)
    }
}
