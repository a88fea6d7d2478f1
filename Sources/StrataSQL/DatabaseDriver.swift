import Logging

/// Opens connections to one backend. `StrataPostgres` and `StrataMySQL` provide one each.
public protocol DatabaseDriver: Sendable {
    var dialect: any SQLDialect { get }

    /// Opens a connection, waiting at most `url.connectTimeout` seconds.
    ///
    /// Runs on the thread that will own the connection.
    /// - Throws: ``DatabaseError`` (`.connectionRefused`, `.authentication`,
    ///   `.unknownDatabase`, `.timeout`, …) whose message never contains the password.
    func connect(to url: DatabaseURL, logger: Logger) throws -> any SQLConnection
}
