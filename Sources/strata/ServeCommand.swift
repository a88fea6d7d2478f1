import ArgumentParser
import Foundation
import Logging
import Metrics
import StrataBilling
import StrataDrivers
import StrataHTTP
import StrataMigrations
import StrataSQL

/// `strata serve`: the billing services as an HTTP API, with the webhook workers, the
/// grace sweep and the idempotency purge in the same process.
///
/// Starting is all or nothing: the configuration is checked, the migrations folder read
/// and the database asked a first question (within its connect timeout and a few
/// seconds more) before the socket opens; any failure is one line on stderr and exit 1
/// (64 for a usage error), never a half-started server. Once listening it prints one
/// line, `strata serve: listening on http://HOST:PORT`, with the real port for
/// `--port 0`. SIGTERM or SIGINT drains and exits 0.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the billing API over HTTP, with the webhook workers and the grace sweep.",
        discussion: """
            Configuration comes from the environment: DATABASE_URL (or --database-url), \
            STRATA_JWT_SECRET (the HS256 key of access tokens, at least 32 bytes) or \
            STRATA_JWT_PUBLIC_KEY_FILE (a PEM public key: P-256 for ES256 tokens, RSA of 2048 bits \
            or more for RS256), and STRATA_WEBHOOK_SECRET (Stripe's endpoint signing secret). Tokens carry the customer's \
            external id in `sub`, `exp`, and `"role": "admin"` or `"roles": ["admin"]` for the admin routes. \
            With STRATA_REPLICA_URL (a hot standby), the catalogue lists and the audit queries read from it; \
            everything that writes or reads a caller's own state stays on the primary.
            """)

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "host"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The port to listen on; 0 picks a free one (the listening line names it).", valueName: "port"))
    var port = 8080

    @Option(help: ArgumentHelp("Webhook workers in this process (0 leaves events to `strata webhooks work`).", valueName: "n"))
    var webhookWorkers = 2

    @Option(help: ArgumentHelp("Seconds between grace sweeps (and purges of expired idempotency keys).", valueName: "seconds"))
    var sweepInterval: Double = 3600

    @Option(help: ArgumentHelp(
        "Seconds the webhook workers wait after the 1st, 2nd, … failure (default 1,10,60,600,3600). For demos and tests.",
        valueName: "s,s,…"))
    var webhookRetrySchedule: String?

    @Option(help: ArgumentHelp("Seconds a connection may stay silent (idle, or a client too slow to send) before it is closed.",
                               valueName: "seconds"))
    var idleTimeout = 60

    @Option(help: ArgumentHelp("Seconds a client may take to send one request, head and body, however slowly it trickles in.",
                               valueName: "seconds"))
    var requestTimeout = 30

    @Option(help: ArgumentHelp("Database connections in the pool, shared by requests and workers.", valueName: "n"))
    var maxConnections = 10

    @Option(help: ArgumentHelp("Seconds a shutdown waits for requests in flight and workers.", valueName: "seconds"))
    var shutdownTimeout: Double = 20

    @Option(help: ArgumentHelp("The migrations folder that GET /ready compares the database with.", valueName: "dir"))
    var migrations = "migrations"

    @OptionGroup var connection: ConnectionOptions

    /// The shortest JWT secret accepted: HS256 needs a key as long as its hash (RFC 7518 §3.2).
    static let minimumJWTSecretBytes = 32

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535, not \(port)") }
        guard (0...64).contains(webhookWorkers) else { throw ValidationError("--webhook-workers must be 0 to 64, not \(webhookWorkers)") }
        guard sweepInterval >= 1, sweepInterval.isFinite else { throw ValidationError("--sweep-interval must be at least 1 second") }
        guard (1...200).contains(maxConnections) else { throw ValidationError("--max-connections must be 1 to 200, not \(maxConnections)") }
        guard shutdownTimeout > 0, shutdownTimeout.isFinite else { throw ValidationError("--shutdown-timeout must be positive") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds, not \(idleTimeout)") }
        guard (1...3600).contains(requestTimeout) else {
            throw ValidationError("--request-timeout must be 1 to 3600 seconds, not \(requestTimeout)")
        }
        guard !host.isEmpty else { throw ValidationError("--host must not be empty") }
        _ = try retryPolicy()
    }

    /// The standard policy, or the one --webhook-retry-schedule gives (with the same jitter).
    func retryPolicy() throws -> WebhookRetryPolicy {
        guard let webhookRetrySchedule else { return .standard }
        let delays = webhookRetrySchedule.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !delays.isEmpty, delays.allSatisfy({ $0.map { $0 >= 0 && $0.isFinite } ?? false }) else {
            throw ValidationError("--webhook-retry-schedule takes comma-separated non-negative seconds, like 1,10,60,600,3600")
        }
        return WebhookRetryPolicy(schedule: delays.compactMap { $0 }, jitter: WebhookRetryPolicy.standard.jitter)
    }

    func run() async throws {
        let logger = connection.logger()
        let database: Database
        var configuration: ServeConfiguration
        do {
            let url = try connection.url()
            let environment = ProcessInfo.processInfo.environment
            let tokenKey = try Self.tokenKey(in: environment)
            let webhookSecret = try Self.secret("STRATA_WEBHOOK_SECRET", in: environment, minimumBytes: 1)
            let set = try MigrationLoader.load(directory: URL(fileURLWithPath: migrations), dialect: SQLSplitDialect(url.backend))
            configuration = ServeConfiguration(
                host: host, port: port, webhookWorkers: webhookWorkers, sweepInterval: sweepInterval,
                tokenKey: tokenKey, webhookSecret: webhookSecret, migrations: set, shutdownTimeout: shutdownTimeout,
                workerIDPrefix: "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)")
            configuration.retryPolicy = try retryPolicy()
            configuration.idleTimeout = idleTimeout
            configuration.requestTimeout = requestTimeout
            // A PEM that holds no usable key is refused here, before the socket opens.
            do {
                _ = try await BearerAuthenticator(key: tokenKey)
            } catch {
                throw CLIError.usage("STRATA_JWT_PUBLIC_KEY_FILE holds neither a P-256 nor an RSA public key of 2048 bits or more")
            }
            database = Database(url: url, maxConnections: maxConnections, replica: try connection.replicaURL(for: url),
                                logger: logger)
            try await Self.probe(database, within: .seconds(url.connectTimeout + 5))
        } catch {
            let report = ErrorReport(error)
            report.print(json: false)
            throw ExitCode(report.exit)
        }
        // The one bootstrap of the process, before the server makes its services (they
        // make their metric handles then): GET /metrics shows what they record.
        let metrics = ServeMetrics()
        MetricsSystem.bootstrap(metrics.factory)
        do {
            try await StrataServer(database: database, configuration: configuration, metrics: metrics,
                                   logger: logger).run { host, port in
                let shown = host.contains(":") ? "[\(host)]" : host
                FileHandle.standardOutput.write(Data("strata serve: listening on http://\(shown):\(port)\n".utf8))
            }
        } catch {
            await database.close()
            ErrorReport(error).print(json: false)
            throw ExitCode(StrataExit.failure)
        }
        await database.close()
    }

    /// The token key: `STRATA_JWT_PUBLIC_KEY_FILE`'s PEM, or `STRATA_JWT_SECRET`; exactly one.
    static func tokenKey(in environment: [String: String]) throws -> TokenKey {
        let file = environment["STRATA_JWT_PUBLIC_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let secretSet = !(environment["STRATA_JWT_SECRET"] ?? "").isEmpty
        guard let file else {
            return .hmacSecret(try secret("STRATA_JWT_SECRET", in: environment, minimumBytes: minimumJWTSecretBytes))
        }
        guard !secretSet else {
            throw CLIError.usage("set STRATA_JWT_SECRET or STRATA_JWT_PUBLIC_KEY_FILE, not both: tokens have one algorithm")
        }
        do {
            return .publicKeyPEM(try String(contentsOfFile: file, encoding: .utf8))
        } catch {
            throw CLIError.usage("STRATA_JWT_PUBLIC_KEY_FILE: cannot read \(file)")
        }
    }

    /// A secret from the environment, checked but never shown.
    static func secret(_ name: String, in environment: [String: String], minimumBytes: Int) throws -> String {
        guard let value = environment[name], !value.isEmpty else {
            throw CLIError.usage("\(name) is not set: strata serve needs it")
        }
        guard value.utf8.count >= minimumBytes else {
            throw CLIError.usage("\(name) is too short: it needs at least \(minimumBytes) bytes")
        }
        return value
    }

    /// Asks the database one question, giving up after `limit`: a server that accepts
    /// the connection and then never answers must not leave the command hanging.
    static func probe(_ database: Database, within limit: Duration) async throws {
        let url = database.url
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    _ = try await database.withConnection { try $0.queryFirst("SELECT 1 AS one") }
                } catch {
                    throw CLIError(description: "cannot reach the database at \(url): \(error)")
                }
            }
            group.addTask {
                try await Task.sleep(for: limit)
                throw CLIError(description: "cannot reach the database at \(url): no answer within \(limit.components.seconds) seconds")
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
