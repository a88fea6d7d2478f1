/// Who asks for an operation and under which request, recorded in the audit log.
public struct BillingContext: Sendable, Hashable {
    /// `admin:alice`, `system:grace-sweep`, `webhook:stripe` …
    public var actor: String
    /// The caller's request id, for tracing one request through the audit log.
    public var requestID: String?

    public init(actor: String, requestID: String? = nil) {
        self.actor = actor
        self.requestID = requestID
    }

    public static let system = BillingContext(actor: "system")
}
