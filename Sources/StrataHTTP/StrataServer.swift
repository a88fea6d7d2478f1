import Hummingbird
import Logging
import ServiceLifecycle
import StrataBilling
import StrataSQL

/// `strata serve` as one process: the HTTP API and its background work, under one
/// service group that starts them together and stops them together.
///
/// The group handles SIGTERM and SIGINT: the HTTP server stops accepting and lets the
/// requests in flight finish, then the workers finish their pass and the periodic jobs
/// stop (services stop in the reverse order of their start), all within
/// ``ServeConfiguration/shutdownTimeout`` after which what still runs is cancelled.
/// ``run(onListening:)`` then returns, and the caller closes the database.
///
/// The group's tasks prefer the database's executor (``StrataSQL/Database/executor``):
/// requests and workers run on the pool's connection threads between their statements,
/// so a statement runs in place instead of being handed to another thread and back.
///
/// ```swift
/// let metrics = ServeMetrics()
/// MetricsSystem.bootstrap(metrics.factory)   // the CLI's job, once per process
/// let server = StrataServer(database: db, configuration: config, metrics: metrics, logger: logger)
/// try await server.run { host, port in print("listening on http://\(host):\(port)") }
/// await db.close()
/// ```
public struct StrataServer: Sendable {
    let database: Database
    let configuration: ServeConfiguration
    let clock: any BillingClock
    let metrics: ServeMetrics
    let logger: Logger

    /// - Parameter metrics: what `GET /metrics` shows; bootstrap its factory before
    ///   `run`, or only the scrape-time gauges appear.
    public init(database: Database, configuration: ServeConfiguration, clock: any BillingClock = SystemClock(),
                metrics: ServeMetrics, logger: Logger) {
        self.database = database
        self.configuration = configuration
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
    }

    /// Serves until a signal stops the process.
    ///
    /// - Parameter onListening: called once the socket listens, with the host and the
    ///   real port (the one the system chose for port 0).
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let config = configuration
        let authenticator = try await BearerAuthenticator(key: config.tokenKey)
        let tokenKeySet = switch config.tokenKey {
        case .hmacSecret(let secret): !secret.isEmpty
        case .publicKeyPEM(let pem): !pem.isEmpty
        }
        let readiness = ReadinessCheck(database: database, migrations: config.migrations,
                                       secretsConfigured: tokenKeySet && !config.webhookSecret.isEmpty, logger: logger)
        let api = BillingAPI(database: database, clock: clock, webhookSecret: config.webhookSecret,
                             authenticator: authenticator, readiness: readiness, metrics: metrics, logger: logger)
        let host = config.host
        let app = Application(
            router: api.router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [RequestReadDeadlineHandler(timeout: .seconds(Int64(config.requestTimeout)))],
                idleTimeout: .seconds(Int64(config.idleTimeout)))),
            configuration: ApplicationConfiguration(address: .hostname(host, port: config.port), serverName: nil),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? config.port) },
            logger: logger)
        // Explicit names: a service's default name is its `description`, which would dump its fields.
        var services = backgroundServices().map { named in
            ServiceGroupConfiguration.ServiceConfiguration(service: named.service, serviceName: named.name)
        }
        services.append(.init(service: app, serviceName: "http"))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                           logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(config.shutdownTimeout)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        // Every task of the group (each HTTP connection's, each worker's) inherits the
        // preference for the pool's executor: a request runs on an idle connection
        // thread, and its transaction takes that thread's connection in place. On the
        // global executor every request was handed to a connection thread and back, two
        // more thread switches a request (see bench/RESULTS.md, `scripts/bench http`).
        // When every connection thread is busy, tasks go on on the global executor.
        try await withTaskExecutorPreference(database.executor) {
            try await group.run()
        }
    }

    /// The workers and periodic jobs, each a service of the group.
    func backgroundServices() -> [(name: String, service: any Service)] {
        let config = configuration
        let wallets = WalletService(database: database, clock: clock, logger: logger)
        let grace = GracePeriodService(database: database, clock: clock, logger: logger)
        let registry = WebhookHandlerRegistry.builtIn(wallets: wallets, grace: grace)
        var services: [(name: String, service: any Service)] = (0..<config.webhookWorkers).map { n in
            ("webhook-worker-\(n)", WebhookWorkerService(
                worker: RetryWorker(id: "\(config.workerIDPrefix):\(n)", database: database, registry: registry,
                                    clock: clock, logger: logger, policy: config.retryPolicy),
                logger: logger))
        }
        let sweepContext = BillingContext(actor: "system:grace-sweep")
        services.append(("grace-sweep", PeriodicJobService(name: "grace-sweep", interval: config.sweepInterval, logger: logger) {
            let report = try await grace.sweep(context: sweepContext)
            return "\(report.count) expired, \(report.skipped) skipped"
        }))
        let idempotency = wallets.idempotency
        services.append(("idempotency-purge", PeriodicJobService(name: "idempotency-purge", interval: config.sweepInterval,
                                                                 logger: logger) {
            "\(try await idempotency.purgeExpired()) expired keys purged"
        }))
        return services
    }
}
