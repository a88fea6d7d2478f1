import StrataBilling
import StrataMigrations

/// Everything `strata serve` needs besides its database: where to listen, the secrets,
/// and how much background work to run.
public struct ServeConfiguration: Sendable {
    public var host: String
    /// 0 asks the system for a free port; the listening line names the real one.
    public var port: Int
    /// Webhook workers in this process (0: leave the events to `strata webhooks work`).
    public var webhookWorkers: Int
    /// When the workers retry a failed event (the standard 1 s … 1 h, or a shorter one for demos and tests).
    public var retryPolicy: WebhookRetryPolicy = .standard
    /// Seconds a connection may stay silent before the server closes it: an idle
    /// keep-alive connection, or a client that sends its request too slowly.
    public var idleTimeout = 60
    /// Seconds a client may take to send one request, from its head to its body's end,
    /// however steadily it trickles (``RequestReadDeadlineHandler``): `408` after that.
    public var requestTimeout = 30
    /// Seconds between grace sweeps and between purges of expired idempotency keys.
    public var sweepInterval: Double
    /// The key access tokens are verified with (HS256 secret, or an ES256/RS256 public key).
    public var tokenKey: TokenKey
    /// Stripe's endpoint signing secret.
    public var webhookSecret: String
    /// The project's migrations for the database's dialect, for `GET /ready`.
    public var migrations: MigrationSet
    /// Seconds a shutdown waits for requests in flight and workers before it cancels them.
    public var shutdownTimeout: Double
    /// The lease owner prefix of this process's workers (`host:pid`).
    public var workerIDPrefix: String

    public init(host: String, port: Int, webhookWorkers: Int, sweepInterval: Double, tokenKey: TokenKey,
                webhookSecret: String, migrations: MigrationSet, shutdownTimeout: Double = 20, workerIDPrefix: String) {
        self.host = host
        self.port = port
        self.webhookWorkers = webhookWorkers
        self.sweepInterval = sweepInterval
        self.tokenKey = tokenKey
        self.webhookSecret = webhookSecret
        self.migrations = migrations
        self.shutdownTimeout = shutdownTimeout
        self.workerIDPrefix = workerIDPrefix
    }
}
