import Foundation
import StrataDrivers
import StrataSQL
import Testing

/// Bad input fails fast with one clear line, and a password never shows.
@Suite("Connection input")
struct ConnectionInputTests {
    static let secret = "s3cr3t-Pa55"

    @Test(arguments: [
        ("not a url", "expected scheme://"),
        ("oracle://u:\(secret)@h/db", "unknown database URL scheme 'oracle'"),
        ("postgres://u:\(secret)@127.0.0.1:99999/db", "invalid port"),
        ("mysql://u:\(secret)@127.0.0.1:3306", "missing database name"),
        ("postgres://u:\(secret)@127.0.0.1/db?connect_timeout=abc", "connect_timeout"),
    ])
    func unparsableURLs(_ input: String, _ expected: String) throws {
        do {
            _ = try DatabaseURL(input)
            Issue.record("\(input) parsed")
        } catch let error as DatabaseError {
            #expect(error.category == .invalidURL)
            #expect("\(error)".contains(expected), "\(error)")
            #expect(!"\(error)".contains(Self.secret))
            #expect(!"\(error)".contains("\n"))
        }
    }

    @Test func urlsParseAndHideThePassword() throws {
        let url = try DatabaseURL("postgresql://bill%40ing:p%3Aw%2Fd@db.example:6543/billing?sslmode=require&connect_timeout=3")
        #expect(url.backend == .postgres)
        #expect(url.user == "bill@ing")
        #expect(url.password == "p:w/d")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.database == "billing")
        #expect(url.sslMode == "require")
        #expect(url.connectTimeout == 3)
        #expect(url.description == "postgresql://bill%40ing:***@db.example:6543/billing?sslmode=require&connect_timeout=3")
        let socket = try DatabaseURL("mariadb://root@localhost/app?socket=/run/mysqld/mysqld.sock")
        #expect(socket.backend == .mysql)
        #expect(socket.socket == "/run/mysqld/mysqld.sock")
        #expect(socket.effectivePort == 3306)
        let v6 = try DatabaseURL("mysql://u@[::1]:3307/app")
        #expect(v6.host == "::1" && v6.port == 3307)
    }

    private func connectError(_ url: DatabaseURL) async -> (DatabaseError?, Duration) {
        let db = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        let start = ContinuousClock.now
        do {
            _ = try await db.withConnection { try $0.query("SELECT 1 AS one") }
            return (nil, ContinuousClock.now - start)
        } catch {
            return (error as? DatabaseError, ContinuousClock.now - start)
        }
    }

    private func expectClean(_ error: DatabaseError?, _ category: DatabaseError.Category) {
        #expect(error?.category == category, "\(String(describing: error))")
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(!text.contains(Self.secret))
        #expect(!text.contains("\n"))
        #expect(!TestLog.recorder.all.contains { $0.contains(Self.secret) })
    }

    @Test(arguments: Backend.allCases)
    func wrongPassword(_ backend: Backend) async throws {
        var url = try backend.url()
        url.password = Self.secret
        // A long connect timeout: the answer must come from the server, not from waiting.
        url.connectTimeout = 60
        let (error, elapsed) = await connectError(url)
        expectClean(error, .authentication)
        #expect(elapsed < .seconds(30))
    }

    @Test(arguments: Backend.allCases)
    func unknownDatabase(_ backend: Backend) async throws {
        let url = try backend.url(database: "strata_no_such_db")
        let (error, _) = await connectError(url)
        expectClean(error, .unknownDatabase)
        #expect("\(error.map { "\($0)" } ?? "")".contains("strata_no_such_db"))
    }

    /// The backend's test URL pointed at `port` on loopback, with the tests' secret.
    static func loopbackURL(_ backend: Backend, port: Int, connectTimeout: Int) throws -> DatabaseURL {
        var url = try backend.url()
        url.host = "127.0.0.1"
        url.port = port
        url.password = secret
        url.connectTimeout = connectTimeout
        return url
    }

    @Test(arguments: Backend.allCases)
    func nothingListeningIsRefusedAtOnce(_ backend: Backend) async throws {
        let url = try Self.loopbackURL(backend, port: try closedPort(), connectTimeout: 60)
        let (error, elapsed) = await connectError(url)
        expectClean(error, .connectionRefused)
        // Refused at once, not after the 60 s connect timeout (generous for a loaded machine).
        #expect(elapsed < .seconds(30), "refused after \(elapsed)")
        #expect("\(error.map { "\($0)" } ?? "")".contains("127.0.0.1:\(url.port!)"))
    }

    /// A server going away (a Galera node shutting down) resets the connections it still
    /// accepts: refused at once, like a closed port, and not a timeout.
    @Test(arguments: Backend.allCases)
    func aServerHangingUpAtTheHandshakeIsRefusedAtOnce(_ backend: Backend) async throws {
        let listener = try HangUpListener()
        let (error, elapsed) = await connectError(try Self.loopbackURL(backend, port: listener.port, connectTimeout: 60))
        expectClean(error, .connectionRefused)
        #expect(elapsed < .seconds(30), "refused after \(elapsed)")
        withExtendedLifetime(listener) {}
    }

    @Test(arguments: Backend.allCases)
    func silentHostIsBoundedByTheConnectTimeout(_ backend: Backend) async throws {
        let listener = try SilentListener()
        let (error, elapsed) = await connectError(try Self.loopbackURL(backend, port: listener.port, connectTimeout: 2))
        expectClean(error, .timeout)
        #expect(elapsed >= .milliseconds(1500) && elapsed < .seconds(30), "timed out after \(elapsed)")
        withExtendedLifetime(listener) {}
    }

    @Test func defaultConnectTimeoutIsFiveSeconds() throws {
        #expect(try DatabaseURL("postgres://u@h/db").connectTimeout == 5)
    }
}
