import HTTPTypes
import Metrics

/// Records one finished request through swift-metrics: the counter
/// `strata_http_requests_total{method, route, status}` and the latency histogram
/// `strata_http_request_duration_seconds{method, route}`.
///
/// Labels stay bounded whatever the clients send: the route is the matched route's
/// pattern (`/billing/admin/webhooks/{id}/replay`, never the path with its id), or
/// `unmatched` when no route matched; a method outside the standard ones is `other`.
///
/// ```swift
/// RequestMetrics.record(method: .post, route: "/billing/charges", status: 201, duration: .milliseconds(4))
/// ```
enum RequestMetrics {
    static let requests = "strata_http_requests_total"
    static let unmatchedRoute = "unmatched"
    private static let knownMethods: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]

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
    static func record(method: HTTPRequest.Method, route: String, status: Int, duration: Duration) {
        let method = knownMethods.contains(method) ? method.rawValue : "other"
        Counter(label: requests, dimensions: [("method", method), ("route", route), ("status", "\(status)")]).increment()
        Timer(label: ServeMetrics.requestDuration, dimensions: [("method", method), ("route", route)]).record(duration: duration)
    }
}
