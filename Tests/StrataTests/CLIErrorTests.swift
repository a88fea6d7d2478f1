import Foundation
import StrataSQL
import Testing

/// How the CLI fails: argument errors as one line like every other error, numbers that
/// say what is wrong with them, a JSON error document with `--json`, and `migrate wait`
/// bounded by its timeout.
@Suite("CLI errors")
struct CLIErrorTests {
    /// One line on stderr, `strata: error: …`, pointing at the command's `--help`; nothing on stdout.
    private func expectOneLineUsage(_ r: StrataCLI.Result, mentioning text: String, help: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 64, "\(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && r.stderr.hasPrefix("strata: error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("(see '\(help) --help')"), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "\(r.stdout)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [
        (["wallet", "grant", "acme"], "Missing expected argument '<credits>'", "strata wallet grant"),
        (["migrate", "bogus"], "Unexpected argument 'bogus'", "strata migrate"),
        (["migrate", "up", "--bogus"], "Unknown option '--bogus'", "strata migrate up"),
        (["migrate", "up", "--steps", "x"], "--steps", "strata migrate up"),
        (["migrate", "status", "--log-level", "bogus"], "--log-level must be one of trace, debug", "strata migrate status"),
        (["wallet", "show", "acme", "--log-level", "loud"], "not 'loud'", "strata wallet show"),
    ])
    func argumentErrorsAreOneLine(_ arguments: [String], _ text: String, _ help: String) async throws {
        expectOneLineUsage(try await StrataCLI.run(arguments), mentioning: text, help: help)
    }

    /// A negative number used to be read as an option ("Missing value", "Missing
    /// expected argument"): the message now says what the number must be.
    @Test(arguments: [
        (["migrate", "up", "--lock-timeout", "-1"], "--lock-timeout must be 0 or more seconds, not -1", "strata migrate up"),
        (["wallet", "grant", "acme", "-5", "--reason", "why"], "CREDITS must be more than 0, not -5", "strata wallet grant"),
        (["wallet", "grant", "acme", "--reason", "why", "-5"], "CREDITS must be more than 0, not -5", "strata wallet grant"),
        (["migrate", "down", "--steps", "-2"], "--steps must be at least 1, not -2", "strata migrate down"),
        (["wallet", "history", "acme", "--limit", "-3"], "--limit must be more than 0, not -3", "strata wallet history"),
        (["migrate", "wait", "--timeout", "-4"], "--timeout must be 1 or more seconds, not -4", "strata migrate wait"),
        (["wallet", "refund", "-3"], "TRANSACTION-ID must be more than 0, not -3", "strata wallet refund"),
        (["plans", "usage", "-1", "--record", "5"], "SUBSCRIPTION-ID must be more than 0, not -1", "strata plans usage"),
    ])
    func negativeNumbersSayWhatIsWrong(_ arguments: [String], _ text: String, _ help: String) async throws {
        let r = try await StrataCLI.run(arguments, environment: ["DATABASE_URL": "postgres://u@127.0.0.1:1/db"])
        expectOneLineUsage(r, mentioning: text, help: help)
    }

    /// A version is parsed by the argument parser now, not by each command: the line stays
    /// what the commands said when they checked the text themselves.
    @Test(arguments: [
        (["migrate", "goto", "abc"], "'abc' is not a version (1-20 digits)", "strata migrate goto"),
        (["migrate", "baseline", "0"], "'0' is not a version (1-20 digits)", "strata migrate baseline"),
        (["migrate", "repair", "123456789012345678901"], "'123456789012345678901' is not a version (1-20 digits)",
         "strata migrate repair"),
        (["migrate", "up", "--to", "1a"], "--to: '1a' is not a version (1-20 digits)", "strata migrate up"),
        (["migrate", "down", "--to", "-3"], "--to: '-3' is not a version (1-20 digits)", "strata migrate down"),
        (["migrate", "goto", "-7"], "'-7' is not a version (1-20 digits)", "strata migrate goto"),
    ])
    func aBadVersionSaysSo(_ arguments: [String], _ text: String, _ help: String) async throws {
        let r = try await StrataCLI.run(arguments, environment: ["DATABASE_URL": "postgres://u@127.0.0.1:1/db"])
        #expect(r.status == 64 && r.stderr == "strata: error: \(text) (see '\(help) --help')\n", "\(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
    }

    @Test func helpAndVersionStayAsTheyWere() async throws {
        var r = try await StrataCLI.run(["wallet", "grant", "--help"])
        #expect(r.status == 0 && r.stdout.contains("USAGE:") && r.stdout.contains("<credits>") && r.stderr.isEmpty, "\(r.stdout)")
        r = try await StrataCLI.run(["--version"])
        #expect(r.status == 0 && r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0", "\(r.stdout)")
    }

    /// With `--json`, a failure prints one JSON document on stdout as well as its line on stderr.
    @Test func aFailureWithJSONPrintsOneErrorDocument() async throws {
        // No database: a usage error from the command.
        var r = try await StrataCLI.run(["migrate", "status", "--json"])
        #expect(r.status == 64 && r.stderr.contains("DATABASE_URL"), "\(r.stderr)")
        #expect(r.json?["code"] as? String == "usage" && r.json?["exit"] as? Int == 64 && r.json?["ok"] as? Bool == false, "\(r.stdout)")
        #expect((r.json?["error"] as? String)?.contains("DATABASE_URL") == true, "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").count == 1)
        // A refused connection.
        let port = try closedPort()
        r = try await StrataCLI.run(["wallet", "show", "acme", "--json"],
                                    environment: ["DATABASE_URL": "postgres://u:pw@127.0.0.1:\(port)/db"])
        #expect(r.status == 1 && r.json?["code"] as? String == "connection" && r.json?["exit"] as? Int == 1, "\(r.stdout) \(r.stderr)")
        #expect((r.json?["error"] as? String).map { r.stderr == "strata: error: \($0)\n" } == true, "\(r.stdout) \(r.stderr)")
        // An argument error.
        r = try await StrataCLI.run(["migrate", "up", "--json", "--lock-timeout", "-1"])
        #expect(r.status == 64 && r.json?["code"] as? String == "usage" && r.json?["exit"] as? Int == 64, "\(r.stdout)")
        // Without --json, stdout stays empty.
        r = try await StrataCLI.run(["wallet", "show", "acme"], environment: ["DATABASE_URL": "postgres://u:pw@127.0.0.1:\(port)/db"])
        #expect(r.status == 1 && r.stdout.isEmpty, "\(r.stdout)")
    }

    /// A seed that fails lists its problems on stderr and, with `--json`, in its document.
    @Test func aFailedSeedWithJSONPrintsOneErrorDocument() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-seed-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("agent_key,display_name,credits_per_run,active\nx,X,abc,true\n".utf8)
            .write(to: dir.appendingPathComponent("agent_costs.csv"))
        let r = try await StrataCLI.run(["seed", "agent-costs", "--seeds", dir.path, "--json"],
                                        environment: ["DATABASE_URL": try Backend.postgres.url().urlString])
        #expect(r.status == 1 && r.stderr.contains("agent_costs.csv:2"), "\(r.stderr)")
        #expect(r.json?["code"] as? String == "seed" && r.json?["exit"] as? Int == 1 && r.json?["ok"] as? Bool == false, "\(r.stdout)")
        #expect((r.json?["problems"] as? [String])?.count == 1, "\(r.stdout)")
    }

    /// Against a port that accepts and never answers, `--timeout 3` took 5 s (the URL's
    /// connect timeout), and 30 s with `connect_timeout=30`: the timeout now bounds the
    /// whole wait, connection attempts included.
    ///
    /// The listener times how long the client holds its connections, which a loaded
    /// machine's slow process start does not stretch.
    @Test(arguments: Backend.allCases)
    func migrateWaitIsBoundedByItsTimeout(_ backend: Backend) async throws {
        for query in ["", "?connect_timeout=30"] {
            let listener = try HoldingListener()
            let url = "\(backend.rawValue)://strata:pw@127.0.0.1:\(listener.port)/strata_test\(query)"
            let r = try await StrataCLI.run(["migrate", "wait", "--timeout", "3", "--json"], environment: ["DATABASE_URL": url])
            let held = listener.stop()
            #expect(r.status == 1 && r.stderr.contains("not reachable after 3 s"), "\(r.stderr)")
            #expect(r.json?["code"] as? String == "connection", "\(r.stdout)")
            // The old behaviour held a connection for 5 s (the default connect_timeout) or 30 s.
            #expect(held >= .seconds(2) && held <= .seconds(4), "\(backend) \(query): connections held \(held)")
            #expect(r.duration < .seconds(20), "\(backend) \(query): the run took \(r.duration)")
        }
    }

    /// A server that answers ends the wait at once.
    @Test(arguments: Backend.allCases)
    func migrateWaitReturnsWhenTheServerAnswers(_ backend: Backend) async throws {
        let r = try await StrataCLI.run(["migrate", "wait", "--timeout", "10", "--json"],
                                        environment: ["DATABASE_URL": try backend.url().urlString])
        #expect(r.status == 0 && r.json?["ok"] as? Bool == true && r.json?["attempts"] as? Int == 1, "\(r.stdout) \(r.stderr)")
    }
}

/// A TCP listener on loopback that accepts connections and never answers, and times
/// them: from the first connection accepted to the last one closed by the client.
final class HoldingListener: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var first: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant?
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        (fd, port) = try listeningSocket()
        Thread.detachNewThread { self.serve() }
    }

    /// Whether a client has connected yet.
    var hasAccepted: Bool {
        lock.lock(); defer { lock.unlock() }
        return first != nil
    }

    /// Ends the listener and returns how long the client held its connections.
    func stop() -> Duration {
        lock.lock(); stopped = true; lock.unlock()
        done.wait()
        close(fd)
        lock.lock(); defer { lock.unlock() }
        guard let first, let last else { return .zero }
        return last - first
    }

    private func serve() {
        var clients: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var stoppedAt: ContinuousClock.Instant?
        while true {
            // Once stopped, the client's ends of the connections (closed when it exited)
            // are still read, so its last close is counted.
            lock.lock(); let isStopped = stopped; lock.unlock()
            if isStopped {
                stoppedAt = stoppedAt ?? .now
                if clients.isEmpty || ContinuousClock.now - stoppedAt! > .seconds(2) { break }
            }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)] + clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), 50) > 0 else { continue }
            let now = ContinuousClock.now
            if fds[0].revents != 0 {
                let client = accept(fd, nil, nil)
                if client >= 0 {
                    clients.append(client)
                    lock.lock(); if first == nil { first = now }; lock.unlock()
                }
            }
            for entry in fds.dropFirst() where entry.revents != 0 {
                // Whatever the client sends is read and ignored; end of stream is its giving up.
                if read(entry.fd, &buffer, buffer.count) <= 0 {
                    close(entry.fd)
                    clients.removeAll { $0 == entry.fd }
                    lock.lock(); last = now; lock.unlock()
                }
            }
        }
        clients.forEach { close($0) }
        done.signal()
    }
}
