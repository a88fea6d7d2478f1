import Logging
import StrataMySQL
import StrataPostgres
import StrataSQL

extension DatabaseURL {
    /// The driver the URL's scheme names: `postgres://` / `postgresql://` → libpq,
    /// `mysql://` / `mariadb://` → libmariadb.
    public var driver: any DatabaseDriver {
        switch backend {
        case .postgres: PostgresDriver()
        case .mysql: MySQLDriver()
        }
    }
}

extension Database {
    /// A pool for the database a URL names, with the driver its scheme picks.
    ///
    /// ```swift
    /// let db = try Database.connect(to: "mysql://app:secret@127.0.0.1/billing", logger: logger)
    /// ```
    /// - Throws: ``DatabaseError`` `.invalidURL` for a URL that does not parse.
    public static func connect(to urlString: String, maxConnections: Int = 10, logger: Logger) throws -> Database {
        let url = try DatabaseURL(urlString)
        return Database(url: url, driver: url.driver, maxConnections: maxConnections, logger: logger)
    }

    /// A pool for a parsed URL, with the driver its scheme picks.
    public convenience init(url: DatabaseURL, maxConnections: Int = 10, replica: DatabaseURL? = nil, logger: Logger) {
        self.init(url: url, driver: url.driver, maxConnections: maxConnections, replica: replica, logger: logger)
    }
}
