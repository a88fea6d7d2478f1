import Foundation
import StrataSQL

/// The parts of a Stripe `invoice.*` event that Strata reads, as Stripe sends them.
///
/// Times are Unix seconds; amounts are integers in minor units; `subscription` is read
/// from `data.object.subscription` or, in API versions from 2025 on, from
/// `data.object.parent.subscription_details.subscription`.
struct StripeInvoiceEvent: Decodable {
    struct DataField: Decodable {
        var object: Object
    }

    struct Object: Decodable {
        var id: String?
        var customer: String?
        var subscription: String?
        var parent: Parent?
        var number: String?
        var status: String?
        var currency: String?
        var amount_due: Int64?
        var amount_paid: Int64?
        var amount_remaining: Int64?
        var period_start: Int64?
        var period_end: Int64?
        var due_date: Int64?
        var hosted_invoice_url: String?
        var invoice_pdf: String?
        var created: Int64?
        var status_transitions: StatusTransitions?
        var lines: Lines?
    }

    struct Parent: Decodable {
        var subscription_details: SubscriptionDetails?
    }

    struct SubscriptionDetails: Decodable {
        var subscription: String?
    }

    struct StatusTransitions: Decodable {
        var finalized_at: Int64?
        var paid_at: Int64?
    }

    struct Lines: Decodable {
        var data: [Line]
        var has_more: Bool?
    }

    struct Line: Decodable {
        var id: String?
        var description: String?
        var amount: Int64?
        var currency: String?
        var quantity: Int64?
        var period: Period?
    }

    struct Period: Decodable {
        var start: Int64?
        var end: Int64?
    }

    var id: String
    var created: Int64?
    var data: DataField
}
