import Metrics
import Prometheus
import StrataBilling
import StrataSQL

/// The metrics of one `strata serve` process, kept in Prometheus's registry and shown
/// in its text format at `GET /metrics`.
///
/// Two kinds of series land in ``registry``:
/// - those the libraries and the HTTP layer record through swift-metrics' API (charges,
///   credits, webhook events, requests), once ``factory`` is the bootstrapped backend;
/// - gauges sampled at each scrape (``sample(pool:deadLetters:)``,
///   ``sample(invoicesByStatus:)``): the database pool, the depth of the dead-letter
///   queue and the invoices in each status, registered here directly with their help
///   text, so they are there whatever was bootstrapped.
///
/// Only the CLI bootstraps, once per process, before it makes the server (services make
/// their metric handles when they are made):
///
/// ```swift
/// let metrics = ServeMetrics()
/// MetricsSystem.bootstrap(metrics.factory)
/// try await StrataServer(database: db, configuration: config, metrics: metrics, logger: logger).run { _, _ in }
/// ```
public struct ServeMetrics: Sendable {
    /// The content type of Prometheus's text exposition format 0.0.4.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// The request latency histogram's name, and its buckets: 1 ms to 10 s.
    static let requestDuration = "strata_http_request_duration_seconds"
    static let requestDurationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2_500), .seconds(5), .seconds(10),
    ]

    let registry: PrometheusCollectorRegistry
    private let poolInUse: Prometheus.Gauge
    private let poolIdle: Prometheus.Gauge
    private let poolWaiting: Prometheus.Gauge
    private let poolMax: Prometheus.Gauge
    private let deadLetters: Prometheus.Gauge
    /// One series a status, all five from the start, so a status no invoice has yet reads 0.
    private let invoices: [InvoiceStatus: Prometheus.Gauge]

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        func gauge(_ subsystem: String, _ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "strata", subsystem: subsystem, metricName: name, unitName: "", helpText: help)
        }
        let connections = gauge("db_pool", "connections", "Database pool connections, leased (in_use) or free (idle).")
        poolInUse = registry.makeGauge(descriptor: connections, labels: [("state", "in_use")])
        poolIdle = registry.makeGauge(descriptor: connections, labels: [("state", "idle")])
        poolWaiting = registry.makeGauge(descriptor: gauge(
            "db_pool", "waiters", "Tasks waiting for a database connection because every one is leased."))
        poolMax = registry.makeGauge(descriptor: gauge("db_pool", "max_connections", "The most connections the database pool opens."))
        deadLetters = registry.makeGauge(descriptor: gauge(
            "webhook", "dead_letter_events", "Webhook events in the dead-letter queue (state dead)."))
        let invoiceCount = gauge("", "invoices", "Provider invoices recorded from webhook events, by status.")
        invoices = Dictionary(uniqueKeysWithValues: InvoiceStatus.allCases.map { status in
            (status, registry.makeGauge(descriptor: invoiceCount, labels: [("status", status.rawValue)]))
        })
    }

    /// The swift-metrics backend that records into ``registry``, with the request
    /// latency buckets; bootstrap it with `MetricsSystem.bootstrap`.
    public var factory: any MetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[Self.requestDuration] = Self.requestDurationBuckets
        return factory
    }

    /// Sets the scrape-time gauges: the pool's counts, and the dead-letter depth when it
    /// could be read (`nil` leaves the last value).
    func sample(pool: PoolStatistics, deadLetters depth: Int64?) {
        poolInUse.set(Int64(pool.inUse))
        poolIdle.set(Int64(pool.idle))
        poolWaiting.set(Int64(pool.waiting))
        poolMax.set(Int64(pool.maxConnections))
        if let depth { deadLetters.set(depth) }
    }

    /// Sets the invoice gauges from ``InvoiceService/countByStatus()``; a status the
    /// counts lack keeps its last value.
    func sample(invoicesByStatus counts: [InvoiceStatus: Int64]) {
        for (status, count) in counts {
            invoices[status]?.set(count)
        }
    }

    /// Every series in Prometheus's text format.
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
