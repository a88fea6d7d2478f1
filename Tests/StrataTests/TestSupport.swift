import Foundation
import Logging
import StrataDrivers
import StrataMigrations
import StrataSQL
import Testing

/// The two backends every driver-level test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres
    case mysql

    var testDescription: String { rawValue }

    /// The URL of the backend's test database, from `scripts/db env`.
    ///
    /// Fails loudly, never skips: a suite that silently passes without servers proves nothing.
    func url(database: String? = nil) throws -> DatabaseURL {
        let variable = self == .postgres ? "STRATA_TEST_POSTGRES_URL" : "STRATA_TEST_MYSQL_URL"
        guard let raw = ProcessInfo.processInfo.environment[variable], !raw.isEmpty else {
            throw TestServerMissing(variable: variable)
        }
        let url = try DatabaseURL(raw)
        return database.map { url.withDatabase($0) } ?? url
    }

    func database(maxConnections: Int = 5, logger: Logger = TestLog.logger) throws -> Database {
        Database(url: try url(), maxConnections: maxConnections, logger: logger)
    }

    /// SQL that differs per backend, kept to the tests' own fixtures.
    var fixture: BackendFixture {
        switch self {
        case .postgres:
            BackendFixture(
                textType: "TEXT", bytesType: "BYTEA", timestampType: "TIMESTAMPTZ", jsonType: "JSONB",
                doubleType: "DOUBLE PRECISION", sleep: { "SELECT pg_sleep(\($0))" },
                sessionID: "SELECT pg_backend_pid() AS id",
                kill: { "SELECT pg_terminate_backend(\($0))" },
                running: { "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid = \($0) AND state = 'active'" },
                shortLockTimeout: "SET lock_timeout = '200ms'",
                beginSnapshot: ["BEGIN ISOLATION LEVEL REPEATABLE READ"])
        case .mysql:
            BackendFixture(
                textType: "LONGTEXT", bytesType: "LONGBLOB", timestampType: "DATETIME(6)", jsonType: "JSON",
                doubleType: "DOUBLE", sleep: { "SELECT SLEEP(\($0))" },
                sessionID: "SELECT CONNECTION_ID() AS id",
                kill: { "KILL \($0)" },
                running: { "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = \($0) AND COMMAND = 'Query'" },
                shortLockTimeout: "SET SESSION innodb_lock_wait_timeout = 1",
                // MariaDB 10.11.8+ reports a write to a row changed since the snapshot as 1020.
                beginSnapshot: ["SET SESSION innodb_snapshot_isolation = ON",
                                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                                "START TRANSACTION WITH CONSISTENT SNAPSHOT"])
        }
    }
}

struct BackendFixture: Sendable {
    var textType: String
    var bytesType: String
    var timestampType: String
    var jsonType: String
    var doubleType: String
    var sleep: @Sendable (Double) -> String
    var sessionID: String
    var kill: @Sendable (Int64) -> String
    /// A count: 1 while the session runs a statement.
    var running: @Sendable (Int64) -> String
    var shortLockTimeout: String
    var beginSnapshot: [String]
}

struct TestServerMissing: Error, CustomStringConvertible {
    var variable: String
    var description: String {
        "\(variable) is not set: start the test servers with `scripts/db start` and `eval \"$(scripts/db env)\"`, or run `scripts/test`"
    }
}

/// A table name no other test uses, so tests run in parallel.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}

/// Logs of the tests: quiet by default, and recorded so tests can check what was logged.
enum TestLog {
    static let recorder = LogRecorder()
    static let logger: Logger = {
        LoggingSystem.bootstrap { _ in RecordingLogHandler(recorder: recorder) }
        var logger = Logger(label: "strata.tests")
        logger.logLevel = .trace
        return logger
    }()
}

final class LogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) {
        lock.lock(); lines.append(line); lock.unlock()
    }

    var all: [String] {
        lock.lock(); defer { lock.unlock() }
        return lines
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.append("\(event.level) \(event.message) \(event.metadata ?? [:]) \(metadata)")
    }
}

/// A TCP listener on loopback that accepts connections and never answers: a host that hangs.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try listeningSocket()
    }

    deinit { close(fd) }
}

/// A loopback listener that hangs up on every connection it accepts, as a server that is
/// shutting down does.
final class HangUpListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32

    init() throws {
        (fd, port) = try listeningSocket()
        let fd = self.fd
        // The thread owns the socket: it closes it once `deinit`'s shutdown ends `accept`.
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                if client >= 0 { close(client); continue }
                if errno == EINTR { continue }
                close(fd)
                return
            }
        }
    }

    deinit { shutdown(fd, Int32(SHUT_RDWR)) }
}

/// A TCP socket listening on a free loopback port: the socket and the port.
func listeningSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    let bound = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 16) == 0 else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return (fd, Int(UInt16(bigEndian: addr.sin_port)))
}

/// A loopback port with nothing listening on it.
func closedPort() throws -> Int {
    let listener = try SilentListener()
    return listener.port   // closed again when the listener goes away
}

/// Runs `body` with a database of its own, created for it and dropped afterwards, so
/// tests running in parallel never see each other's tables.
///
/// - Parameter migrated: apply the project's migrations (`migrations/`) first.
func withFreshDatabase<T: Sendable>(
    _ backend: Backend, migrated: Bool = false, maxConnections: Int = 5,
    _ body: @escaping @Sendable (Database, DatabaseURL) async throws -> T
) async throws -> T {
    let name = uniqueName("strata_t")
    let admin = try backend.database(maxConnections: 1)
    try await admin.withConnection { try $0.executeUnprepared("CREATE DATABASE \(name)") }
    let url = try backend.url(database: name)
    let db = Database(url: url, maxConnections: maxConnections, logger: TestLog.logger)
    let result: Result<T, any Error>
    do {
        if migrated {
            let set = try MigrationLoader.load(directory: projectRoot.appendingPathComponent("migrations"),
                                               dialect: backend == .postgres ? .postgres : .mysql)
            try await Migrator(database: db, migrations: set, logger: TestLog.logger).run(.up())
        }
        result = .success(try await body(db, url))
    } catch {
        result = .failure(error)
    }
    await db.close()
    try await admin.withConnection {
        try $0.executeUnprepared(backend == .postgres ? "DROP DATABASE \(name) WITH (FORCE)" : "DROP DATABASE \(name)")
    }
    await admin.close()
    return try result.get()
}

/// The package's root folder (where `migrations/` and `seeds/` are).
let projectRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url
}()

extension Database {
    /// The `id` column of a test table, in order.
    func ids(in table: String) async throws -> [Int64] {
        try await withConnection { conn in
            try conn.query("SELECT id FROM \(identifier: table) ORDER BY id").map { try $0.decode("id") }
        }
    }

    /// Whether the pool still runs a statement (after a cancel or an error).
    func answersAQuery() async throws -> Bool {
        let one: Int64? = try await withConnection { try $0.queryFirst("SELECT 1 AS one")?.decode("one") }
        return one == 1
    }

    /// Creates a test table `(id INT PRIMARY KEY, v INT NOT NULL)` named after `prefix`,
    /// runs `then` on the same connection (to prepare statements on it), and returns
    /// the table's name.
    func makeKeyValueTable(_ prefix: String, then: @escaping @Sendable (any SQLConnection, String) throws -> Void = { _, _ in }) async throws -> String {
        let table = uniqueName(prefix)
        try await withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, v INT NOT NULL)")
            try then(conn, table)
        }
        return table
    }

    /// Drops a test table, then closes the pool.
    func dropAndClose(_ table: String) async throws {
        try await withConnection { try $0.executeUnprepared("DROP TABLE \(table)") }
        await close()
    }
}
