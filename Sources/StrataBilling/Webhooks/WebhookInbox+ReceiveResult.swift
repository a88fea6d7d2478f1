extension WebhookInbox {
    /// What ``WebhookInbox/receive(provider:payload:signatureHeader:context:)`` did with a delivery.
    ///
    /// Both answer the provider with a 2xx: a duplicate is acknowledged so that the
    /// provider stops sending it.
    ///
    /// ```swift
    /// let result = try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header)
    /// if result.isDuplicate { logger.debug("seen before", metadata: ["id": "\(result.id)"]) }
    /// ```
    public enum ReceiveResult: Sendable, Hashable {
        /// The first delivery of the event: stored, pending, due now.
        case stored(id: Int64)
        /// The event was already stored (by an earlier or a concurrent delivery); nothing changed.
        case duplicate(id: Int64)

        /// The stored event's row id.
        public var id: Int64 {
            switch self {
            case .stored(let id), .duplicate(let id): id
            }
        }

        public var isDuplicate: Bool {
            if case .duplicate = self { return true }
            return false
        }
    }
}
