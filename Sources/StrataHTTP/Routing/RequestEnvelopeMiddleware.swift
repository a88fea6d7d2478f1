import HTTPTypes
import Hummingbird
import Logging

/// The envelope of every request: its id, its one log line, and the one error shape.
///
/// Runs around every route and around "no such route": takes or makes the request id
/// (``RequestID``), echoes it as `X-Request-Id`, turns any error into the JSON error
/// document of ``APIError`` (the error itself is logged, with the id, only when it is
/// a 5xx: its details may name the database), and logs one line per request with the
/// method, the route, the status and the duration, which it also records as metrics
/// (``RequestMetrics``). Neither the log, the metrics nor the answer ever holds a
/// header's value other than the request id (which is only logged and echoed).
struct RequestEnvelopeMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    static let requestIDField = HTTPField.Name("X-Request-Id")!

    let logger: Logger
    let metrics = RequestMetrics()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = RequestID.take(request.headers[Self.requestIDField])
        context.requestID = requestID
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = APIError(error)
            if apiError.status.code >= 500 {
                logger.error("request failed", metadata: [
                    "request_id": "\(requestID)", "route": "\(context.endpointPath ?? request.uri.path)",
                    "error": "\(String(reflecting: error))"])
            }
            response = JSONResponse.error(apiError, requestID: requestID)
        }
        response.headers[Self.requestIDField] = requestID
        let elapsed = ContinuousClock.now - started
        let route = RequestMetrics.route(context.endpointPath)
        metrics.record(method: request.method, route: route, status: Int(response.status.code), duration: elapsed)
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info("request", metadata: [
            "request_id": "\(requestID)", "method": "\(request.method.rawValue)",
            "route": "\(route)", "status": "\(response.status.code)",
            "duration_ms": "\((milliseconds * 10).rounded() / 10)"])
        return response
    }
}
