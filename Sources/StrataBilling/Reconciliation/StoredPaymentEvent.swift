import Foundation
import StrataSQL

/// A stored checkout or invoice-payment event, read for reconciliation: the fields of
/// its `data.object` that the checks compare.
struct StoredPaymentEvent: Sendable {
    /// The event types whose handlers credit a checkout session's package.
    static let checkoutTypes = ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
    /// The event type that records an invoice's payment.
    static let invoicePaymentType = "invoice.payment_succeeded"

    var provider: String
    var eventID: String
    var type: String
    var state: WebhookEventState
    var receivedAt: SQLTimestamp
    /// `data.object.id`: the checkout session or the invoice.
    var objectID: String?
    /// `data.object.metadata.package_id` of a checkout session.
    var packageID: String?
    /// `data.object.metadata.customer`, else `data.object.customer`.
    var customer: String?
    /// `data.object.payment_status` of a checkout session.
    var paymentStatus: String?
    /// `amount_total` of a session, `amount_paid` of an invoice: minor units.
    var amount: Int64?
    /// Upper case.
    var currency: String?
    /// `payment_intent` and `charge`: the ids a provider's payments export may list.
    var paymentIDs: [String]

    var isCheckout: Bool { Self.checkoutTypes.contains(type) }

    /// Whether the event says the session's money arrived, so its package is owed:
    /// the built-in handler credits on exactly these.
    var isPaidCheckout: Bool {
        isCheckout && (type == "checkout.session.async_payment_succeeded" || paymentStatus != "unpaid")
    }

    /// `provider:event id`.
    var reference: String { "\(provider):\(eventID)" }

    /// Every stored event of the checkout and invoice-payment types, oldest first.
    static func all(_ conn: any SQLConnection) throws -> [StoredPaymentEvent] {
        let types = checkoutTypes + [invoicePaymentType]
        return try conn.query("""
            SELECT provider, event_id, event_type, state, received_at, payload FROM webhook_events
            WHERE event_type IN (\(list: types)) ORDER BY received_at, id
            """).map { row in
            try StoredPaymentEvent(provider: row.decode("provider"), eventID: row.decode("event_id"),
                                   type: row.decode("event_type"),
                                   state: WebhookEventState(rawValue: row.decode("state")) ?? .pending,
                                   receivedAt: row.decode("received_at"),
                                   payload: row.decode("payload", as: SQLJSON.self).text)
        }
    }

    init(provider: String, eventID: String, type: String, state: WebhookEventState, receivedAt: SQLTimestamp, payload: String) {
        self.provider = provider
        self.eventID = eventID
        self.type = type
        self.state = state
        self.receivedAt = receivedAt
        let document = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any]
        let object = (document?["data"] as? [String: Any])?["object"] as? [String: Any] ?? [:]
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        func text(_ value: Any?) -> String? {
            guard let s = value as? String, !s.isEmpty else { return nil }
            return s
        }
        func integer(_ value: Any?) -> Int64? {
            if let n = value as? Int64 { return n }
            return (value as? NSNumber).flatMap { Int64(exactly: $0.doubleValue) }
        }
        objectID = text(object["id"])
        packageID = text(metadata["package_id"])
        customer = text(metadata["customer"]) ?? text(object["customer"])
        paymentStatus = text(object["payment_status"])
        amount = type == Self.invoicePaymentType ? integer(object["amount_paid"]) : integer(object["amount_total"])
        currency = text(object["currency"])?.uppercased()
        paymentIDs = [text(object["payment_intent"]), text(object["charge"])].compactMap { $0 }
    }
}
