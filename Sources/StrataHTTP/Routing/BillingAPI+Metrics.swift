import Hummingbird
import StrataBilling

extension BillingAPI {
    /// `GET /metrics`: every series in Prometheus's text format, public like `/health`.
    ///
    /// Samples the scrape-time gauges first: the pool's counts (no query), the
    /// dead-letter depth (one count through ``WebhookInbox/deadCount()``) and the
    /// invoices by status (one grouped count through ``InvoiceService/countByStatus()``),
    /// and the last reconciliation's discrepancies, from the latest stored run, so a run
    /// made by the CLI or by another server shows too
    /// (``ReconciliationService/sampleLatestRun()``).
    /// A database that cannot answer does not fail the scrape: those gauges keep their
    /// last values and the failure is logged, so the rest of the series still reach
    /// Prometheus.
    func metricsExposition() async -> Response {
        var deadLetters: Int64?
        do {
            deadLetters = try await inbox.deadCount()
        } catch {
            logger.warning("metrics: the dead-letter depth could not be read", metadata: ["error": "\(error)"])
        }
        metrics.sample(pool: database.statistics, deadLetters: deadLetters)
        do {
            metrics.sample(invoicesByStatus: try await invoiceService.countByStatus())
        } catch {
            logger.warning("metrics: the invoice counts could not be read", metadata: ["error": "\(error)"])
        }
        do {
            try await reconciliation.sampleLatestRun()
        } catch {
            logger.warning("metrics: the last reconciliation could not be read", metadata: ["error": "\(error)"])
        }
        return Response(status: .ok, headers: [.contentType: ServeMetrics.contentType],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
