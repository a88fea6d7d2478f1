import Hummingbird

/// A refused or failed request, as the API answers it: one status, one stable machine
/// code and a message fit for the caller.
///
/// Every 4xx and 5xx the API sends is one of these, rendered by ``ErrorBody`` as
/// `{"error_code", "message", "request_id"}` plus, for some codes, a few integer facts
/// (a refused charge adds `balance` and `required`). The message never holds SQL, a
/// stack trace, a token or a secret: errors from below are mapped by
/// ``APIError/init(_:)``, which keeps the details for the log only.
///
/// ```swift
/// throw APIError(.badRequest, "INVALID_JSON", "the body is not a JSON object")
/// ```
public struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// Stable, upper snake case: clients branch on it (`BILLING_INSUFFICIENT_CREDITS`).
    public var code: String
    public var message: String
    /// Extra integer members of the error document, such as `balance` and `required`.
    public var facts: [String: Int64]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, facts: [String: Int64] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.facts = facts
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// 402, which `HTTPResponse.Status` has no name for ("reserved for future use", and
    /// what every billing API answers for a balance too low).
    static let paymentRequired = HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")

    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, "UNAUTHORIZED", message) }
    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }
    static let internalError = APIError(.internalServerError, "INTERNAL_ERROR",
                                        "the server failed to answer this request; its request id is in the log")
    static let unavailable = APIError(.serviceUnavailable, "SERVICE_UNAVAILABLE",
                                      "the database is unavailable; retry later")
}
