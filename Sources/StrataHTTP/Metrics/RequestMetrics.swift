import HTTPTypes
import Metrics
import StrataSQL

/// Records one finished request through swift-metrics: the counter
/// `strata_http_requests_total{method, route, status}` and the latency histogram
/// `strata_http_request_duration_seconds{method, route}`.
///
/// Labels stay bounded whatever the clients send: the route is the matched route's
/// pattern (`/billing/admin/webhooks/{id}/replay`, never the path with its id), or
/// `unmatched` when no route matched; a method outside the standard ones is `other`.
///
/// The handles of each (method, route, status) are made once, on that label set's
/// first request, and kept: making one asks the metrics backend, which validates the
/// names and looks the series up under its registry's lock, every time. Since the
/// labels are bounded, so is what is kept. One value is made with the router, after
/// `strata serve` bootstrapped the backend, so no handle outlives a bootstrap.
///
/// ```swift
/// let metrics = RequestMetrics()
/// metrics.record(method: .post, route: "/billing/charges", status: 201, duration: .milliseconds(4))
/// ```
final class RequestMetrics: Sendable {
    static let requests = "strata_http_requests_total"
    static let unmatchedRoute = "unmatched"
    private static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

    private struct Key: Hashable {
        var method: String
        var route: String
        var status: Int
    }

    private struct Handles {
        var requests: Counter
        var duration: Timer
    }

    private let handles = StrataMutex([Key: Handles]())

    init() {}

    /// The route label of a request: the matched pattern, or ``unmatchedRoute`` when
    /// no route matched (Hummingbird then says `NotFound`, or nothing when a middleware
    /// threw first; a pattern always starts with `/`).
    static func route(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath.hasPrefix("/") else { return unmatchedRoute }
        return endpointPath
    }

    /// Counts a finished request and records its latency.
    ///
    /// - Parameter route: the route label, from ``route(_:)``.
    func record(method: HTTPRequest.Method, route: String, status: Int, duration: Duration) {
        let key = Key(method: Self.knownMethods.contains(method) ? method.rawValue : "other", route: route, status: status)
        let series = handles.withLock { kept in
            if let series = kept[key] { return series }
            let series = Handles(
                requests: Counter(label: Self.requests,
                                  dimensions: [("method", key.method), ("route", key.route), ("status", "\(key.status)")]),
                duration: Timer(label: ServeMetrics.requestDuration,
                                dimensions: [("method", key.method), ("route", key.route)]))
            kept[key] = series
            return series
        }
        series.requests.increment()
        series.duration.record(duration: duration)
    }
}
