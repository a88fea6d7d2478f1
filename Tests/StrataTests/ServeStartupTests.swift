import Foundation
import Testing

/// `strata serve` refuses to start half-configured: one line on stderr, a non-zero
/// exit, no listening line, and no secret or password in what it prints.
@Suite("strata serve startup")
struct ServeStartupTests {
    static let secrets = ["STRATA_JWT_SECRET": ServeProcess.jwtSecret, "STRATA_WEBHOOK_SECRET": ServeProcess.webhookSecret]

    func serve(_ environment: [String: String], _ arguments: [String] = []) async throws -> StrataCLI.Result {
        var env = environment
        // The test run's own environment must not fill the gaps a case leaves.
        for name in ["STRATA_JWT_SECRET", "STRATA_WEBHOOK_SECRET"] where env[name] == nil { env[name] = "" }
        return try await StrataCLI.run(
            ["serve", "--port", "0", "--migrations", projectRoot.appendingPathComponent("migrations").path] + arguments,
            environment: env)
    }

    func expectOneLineRefusal(_ r: StrataCLI.Result, status: Int32, mentioning: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("strata: error: ") && lines[0].contains(mentioning),
                "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stdout.contains("listening"), sourceLocation: sourceLocation)
        for secret in Self.secrets.values {
            #expect(!r.stderr.contains(secret) && !r.stdout.contains(secret), sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: Backend.allCases)
    func missingOrWeakConfigurationIsAUsageError(_ backend: Backend) async throws {
        let url = try backend.rawURL(database: "strata_test")
        expectOneLineRefusal(try await serve(Self.secrets), status: 64, mentioning: "DATABASE_URL")
        expectOneLineRefusal(try await serve(["DATABASE_URL": url, "STRATA_WEBHOOK_SECRET": ServeProcess.webhookSecret]),
                             status: 64, mentioning: "STRATA_JWT_SECRET")
        expectOneLineRefusal(try await serve(["DATABASE_URL": url, "STRATA_JWT_SECRET": ServeProcess.jwtSecret]),
                             status: 64, mentioning: "STRATA_WEBHOOK_SECRET")
        expectOneLineRefusal(try await serve(["DATABASE_URL": url, "STRATA_JWT_SECRET": "short",
                                              "STRATA_WEBHOOK_SECRET": ServeProcess.webhookSecret]),
                             status: 64, mentioning: "at least 32 bytes")
        expectOneLineRefusal(try await serve(Self.secrets.merging(["DATABASE_URL": url]) { $1 }, ["--migrations", "/nonexistent/migrations"]),
                             status: 1, mentioning: "/nonexistent/migrations")
        let badPort = try await serve(Self.secrets.merging(["DATABASE_URL": url]) { $1 }, ["--port", "70000"])
        #expect(badPort.status == 64 && badPort.stderr.contains("--port"))
    }

    @Test(arguments: Backend.allCases)
    func anUnreachableDatabaseIsOneLineWithoutThePassword(_ backend: Backend) async throws {
        let port = try closedPort()
        let scheme = backend == .postgres ? "postgres" : "mysql"
        let r = try await serve(Self.secrets.merging(["DATABASE_URL": "\(scheme)://strata:hunter2secret@127.0.0.1:\(port)/billing"]) { $1 })
        expectOneLineRefusal(r, status: 1, mentioning: "cannot reach the database")
        #expect(!r.stderr.contains("hunter2secret") && r.stderr.contains("***"), "\(r.stderr)")
    }

    @Test func aDatabaseThatNeverAnswersIsRefusedWithinItsTimeout() async throws {
        let silent = try SilentListener()
        let r = try await serve(Self.secrets.merging(
            ["DATABASE_URL": "postgres://strata:hunter2secret@127.0.0.1:\(silent.port)/billing?connect_timeout=1"]) { $1 })
        expectOneLineRefusal(r, status: 1, mentioning: "cannot reach the database")
        #expect(r.duration < .seconds(15), "\(r.duration)")
        #expect(!r.stderr.contains("hunter2secret"))
    }
}
