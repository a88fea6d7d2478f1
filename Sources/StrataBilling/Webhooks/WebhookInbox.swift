import Foundation
import Logging
import StrataSQL

/// The webhook inbox: verifies deliveries, stores each provider event once, lists and
/// replays dead events.
///
/// `receive` checks the signature against the clock before anything else, so a forged
/// or stale delivery leaves no trace in the database. A valid one is stored in state
/// `pending`, due at once, in one transaction with its `webhook.received` audit row. A
/// provider delivers at least once, often several times at once; the `(provider,
/// event_id)` key makes the first delivery the only one stored, and every other is
/// answered ``ReceiveResult/duplicate(id:)`` with no audit row. Processing is a
/// ``RetryWorker``'s job, never the request's: the provider gets its answer as soon as
/// the event is safe.
///
/// ```swift
/// let inbox = WebhookInbox(database: db, clock: SystemClock(), logger: logger, secret: secret)
/// switch try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header) {
/// case .stored(let id): logger.info("stored", metadata: ["id": "\(id)"])
/// case .duplicate: break   // acknowledged, ignored
/// }
/// ```
public struct WebhookInbox: Sendable {
    public let database: Database
    public let clock: any BillingClock
    public let logger: Logger
    public let signature: WebhookSignature
    /// Deliveries stored, duplicate and rejected, and replays (see ``WebhookMetrics``).
    let metrics: WebhookMetrics

    /// The longest provider name and event id or type the schema stores.
    static let maxProviderLength = 32
    static let maxEventFieldLength = 191
    /// The largest payload stored, in UTF-8 bytes: 1 MiB, far above any provider's event,
    /// and below MySQL's default `max_allowed_packet`, so both backends take what passes.
    public static let maxPayloadBytes = 1 << 20

    /// - Parameters:
    ///   - secret: the endpoint's signing secret.
    ///   - tolerance: seconds the signed timestamp may be away from the clock.
    public init(database: Database, clock: any BillingClock, logger: Logger, secret: String,
                tolerance: Double = WebhookSignature.defaultTolerance) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.signature = WebhookSignature(secret: secret, tolerance: tolerance)
        self.metrics = WebhookMetrics()
    }

    /// Verifies a delivery and stores its event once.
    ///
    /// - Parameters:
    ///   - provider: who sent it (`stripe`); event ids are unique per provider.
    ///   - payload: the request body exactly as received.
    ///   - signatureHeader: the signature header (`Stripe-Signature`).
    ///   - context: who is recorded in the audit row; by default `webhook:<provider>`
    ///     with the request id `<provider>:<event id>`.
    /// - Returns: ``ReceiveResult/stored(id:)`` for the first delivery of an event,
    ///   ``ReceiveResult/duplicate(id:)`` for every later one.
    /// - Throws: ``WebhookError/payloadTooLarge(bytes:limit:)`` (checked first, before the
    ///   signature's hash), ``WebhookError/invalidSignature(_:)`` or
    ///   ``WebhookError/invalidPayload(_:)`` (nothing stored), or a `DatabaseError`.
    public func receive(provider: String, payload: String, signatureHeader: String,
                        context: BillingContext? = nil) async throws -> ReceiveResult {
        guard payload.utf8.count <= Self.maxPayloadBytes else {
            logger.warning("webhook refused: payload too large", metadata: ["provider": "\(provider)", "bytes": "\(payload.utf8.count)"])
            metrics.count(.rejected)
            throw WebhookError.payloadTooLarge(bytes: payload.utf8.count, limit: Self.maxPayloadBytes)
        }
        let now = clock.now()
        do {
            try signature.verify(payload: payload, header: signatureHeader, now: now)
        } catch {
            logger.warning("webhook refused: bad signature", metadata: ["provider": "\(provider)", "reason": "\(error)"])
            metrics.count(.rejected)
            throw error
        }
        let eventID: String, type: String
        do {
            (eventID, type) = try Self.identify(provider: provider, payload: payload)
        } catch {
            metrics.count(.rejected)
            throw error
        }
        let context = context ?? BillingContext(actor: "webhook:\(provider)", requestID: "\(provider):\(eventID)")
        let result = try await database.transaction { conn -> ReceiveResult in
            // "Do nothing" on the key, so a duplicate never fails the statement (which
            // would abort the whole transaction on PostgreSQL). A concurrent first
            // delivery makes this wait until it commits, then do nothing.
            let onDuplicate = try conn.dialect.upsertClause(conflictColumns: ["provider", "event_id"], updating: [])
            let insert: SQLQuery = """
                INSERT INTO webhook_events (provider, event_id, event_type, payload, state, attempts,
                                            next_attempt_at, received_at, updated_at)
                VALUES (\(provider), \(eventID), \(type), \(SQLJSON(payload)), \(WebhookEventState.pending.rawValue),
                        \(0), \(now), \(now), \(now)) \(unsafeRaw: onDuplicate)
                """
            if let id = try conn.insertedID(insert) {
                try AuditLog.record(conn, context: context, action: "webhook.received", subjectType: "webhook_event",
                                    subjectID: "\(id)", details: ["provider": provider, "event_id": eventID, "type": type],
                                    at: now)
                return .stored(id: id)
            }
            guard let id: Int64 = try conn.queryFirst("""
                SELECT id FROM webhook_events WHERE provider = \(provider) AND event_id = \(eventID)
                """)?.decode("id") else {
                throw DatabaseError(.other, message: "webhook event \(provider):\(eventID) neither inserted nor found")
            }
            return .duplicate(id: id)
        }
        switch result {
        case .stored(let id):
            metrics.count(.stored)
            logger.info("webhook stored", metadata: ["id": "\(id)", "provider": "\(provider)", "event_id": "\(eventID)", "type": "\(type)"])
        case .duplicate(let id):
            metrics.count(.duplicate)
            logger.debug("webhook duplicate ignored", metadata: ["id": "\(id)", "provider": "\(provider)", "event_id": "\(eventID)"])
        }
        return result
    }

    /// One event by its row id, or `nil`.
    public func event(id: Int64) async throws -> WebhookEvent? {
        try await database.withConnection { conn in
            try conn.queryFirst("SELECT \(WebhookEvent.columns) FROM webhook_events WHERE id = \(id)")?.decode(WebhookEvent.self)
        }
    }

    /// One event by the provider's event id, or `nil`.
    public func event(provider: String, eventID: String) async throws -> WebhookEvent? {
        try await database.withConnection { conn in
            try conn.queryFirst("""
                SELECT \(WebhookEvent.columns) FROM webhook_events WHERE provider = \(provider) AND event_id = \(eventID)
                """)?.decode(WebhookEvent.self)
        }
    }

    /// Dead events, the most recently failed first.
    public func dead(limit: Int = 100) async throws -> [WebhookEvent] {
        try await database.withConnection { conn in
            try conn.query("""
                SELECT \(WebhookEvent.columns) FROM webhook_events WHERE state = \(WebhookEventState.dead.rawValue)
                ORDER BY updated_at DESC, id DESC LIMIT \(Int64(max(limit, 0)))
                """).map { try $0.decode(WebhookEvent.self) }
        }
    }

    /// How many events are dead: the depth of the dead-letter queue.
    ///
    /// One count over the `(state, next_attempt_at)` index, cheap enough for every
    /// metrics scrape.
    /// - Throws: a `DatabaseError`.
    public func deadCount() async throws -> Int64 {
        try await database.withConnection { conn in
            try conn.queryFirst("""
                SELECT COUNT(*) AS n FROM webhook_events WHERE state = \(WebhookEventState.dead.rawValue)
                """)?.decode("n") ?? 0
        }
    }

    /// The finished attempts of an event, in order.
    public func attempts(eventID: Int64) async throws -> [WebhookAttempt] {
        try await database.withConnection { conn in
            try conn.query("""
                SELECT event_id, attempt_number, started_at, finished_at, outcome, error, worker
                FROM webhook_attempts WHERE event_id = \(eventID) ORDER BY attempt_number
                """).map { try $0.decode(WebhookAttempt.self) }
        }
    }

    /// Moves a dead event back to `pending`, due now, with a fresh retry budget.
    ///
    /// The budget starts again (`attempts` back to 0, so up to six more tries on the
    /// standard policy) while the attempt history stays: new attempt rows are numbered
    /// on from the last one. `last_error` keeps the error that killed the event until an
    /// attempt succeeds or fails anew. Writes a `webhook.replay` audit row.
    ///
    /// - Returns: the event as it is now.
    /// - Throws: ``WebhookError/eventNotFound(_:)``, or ``WebhookError/notDead(eventID:state:)``
    ///   for an event in any other state (nothing changes).
    @discardableResult
    public func replay(eventID id: Int64, context: BillingContext) async throws -> WebhookEvent {
        let now = clock.now()
        let event = try await database.transaction { conn -> WebhookEvent in
            guard let row = try conn.queryFirst("SELECT \(WebhookEvent.columns) FROM webhook_events WHERE id = \(id) FOR UPDATE") else {
                throw WebhookError.eventNotFound("\(id)")
            }
            let before = try row.decode(WebhookEvent.self)
            guard before.state == .dead else { throw WebhookError.notDead(eventID: "\(id)", state: before.state) }
            try conn.execute("""
                UPDATE webhook_events SET state = \(WebhookEventState.pending.rawValue), attempts = \(0),
                       next_attempt_at = \(now), updated_at = \(now)
                WHERE id = \(id) AND state = \(WebhookEventState.dead.rawValue)
                """)
            try AuditLog.record(conn, context: context, action: "webhook.replay", subjectType: "webhook_event",
                                subjectID: "\(id)", details: [
                                    "provider": before.provider, "event_id": before.eventID, "type": before.type,
                                    "previous_attempts": before.attempts, "last_error": before.lastError ?? NSNull(),
                                ], at: now)
            var after = before
            after.state = .pending
            after.attempts = 0
            after.nextAttemptAt = now
            return after
        }
        metrics.count(.replayed)
        logger.notice("webhook replayed", metadata: ["id": "\(id)", "provider": "\(event.provider)",
                                                     "event_id": "\(event.eventID)", "actor": "\(context.actor)"])
        return event
    }

    /// Replays a dead event named by the provider's event id.
    ///
    /// - Throws: as ``replay(eventID:context:)``.
    @discardableResult
    public func replay(provider: String, eventID: String, context: BillingContext) async throws -> WebhookEvent {
        guard let event = try await event(provider: provider, eventID: eventID) else {
            throw WebhookError.eventNotFound("\(provider):\(eventID)")
        }
        return try await replay(eventID: event.id, context: context)
    }

    /// The payload's event id and type, as Stripe sends them (`id`, `type` at the top).
    static func identify(provider: String, payload: String) throws(WebhookError) -> (id: String, type: String) {
        guard !provider.isEmpty, provider.count <= maxProviderLength else {
            throw .invalidPayload("provider name must be 1 to \(maxProviderLength) characters")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] else {
            throw .invalidPayload("not a JSON object")
        }
        guard let id = object["id"] as? String, !id.isEmpty else { throw .invalidPayload("no string \"id\"") }
        guard let type = object["type"] as? String, !type.isEmpty else { throw .invalidPayload("no string \"type\"") }
        guard id.count <= maxEventFieldLength, type.count <= maxEventFieldLength else {
            throw .invalidPayload("\"id\" and \"type\" must be at most \(maxEventFieldLength) characters")
        }
        return (id, type)
    }
}
