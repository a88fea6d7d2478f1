/// Which code processes which webhook event type.
///
/// A handler runs outside any transaction and may run more than once for one event
/// (a retry after a failure, or after a worker lost its lease), so it must be
/// idempotent: the built-in ones pass the event's ``WebhookEvent/reference`` as an
/// idempotency key. Throwing means "try again later".
///
/// An event whose type has no handler counts as a failed attempt ("no handler for type
/// X"): it is retried on the schedule and ends dead, where it waits to be replayed once
/// a handler is deployed, rather than being dropped while billing depends on it. Types
/// that are received but deliberately not acted on are named with ``ignore(_:)``, and
/// their events end processed.
///
/// ```swift
/// var registry = WebhookHandlerRegistry()
/// registry.register("customer.updated") { event in
///     try await crm.sync(event.string(at: "data", "object", "id"))
/// }
/// registry.ignore("charge.succeeded")
/// ```
public struct WebhookHandlerRegistry: Sendable {
    /// Processes one event; throwing schedules a retry.
    public typealias Handler = @Sendable (WebhookEvent) async throws -> Void

    private var handlers: [String: Handler] = [:]

    public init() {}

    /// Sets the handler of an event type, replacing any earlier one.
    public mutating func register(_ type: String, handler: @escaping Handler) {
        handlers[type] = handler
    }

    /// Marks event types as received and deliberately not acted on: they end processed.
    public mutating func ignore(_ types: String...) {
        for type in types { handlers[type] = { _ in } }
    }

    /// The handler of an event type, or `nil`.
    public func handler(for type: String) -> Handler? {
        handlers[type]
    }

    /// The event types that have a handler, sorted.
    public var types: [String] {
        handlers.keys.sorted()
    }
}
