import Foundation
import StrataSQL

extension ProviderInvoice {
    /// The invoice a Stripe `invoice.*` event carries in `data.object`, at the event's `created` time.
    ///
    /// Required: the event's `created`; the invoice's `id`, `status` (one of
    /// ``InvoiceStatus``), `currency`, `amount_due`, `amount_paid`, `amount_remaining`
    /// and `created`; each line's `id`, `amount` and `currency` (a line without a
    /// currency takes the invoice's). The currency is stored upper case.
    ///
    /// - Throws: ``InvoiceError/invalidInvoice(_:)`` naming the first field missing or wrong.
    public init(stripeEvent event: WebhookEvent) throws {
        let parsed: StripeInvoiceEvent
        do {
            parsed = try JSONDecoder().decode(StripeInvoiceEvent.self, from: Data(event.payload.utf8))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw InvoiceError.invalidInvoice("\(event.type) \(event.eventID): \(path) has the wrong type")
        } catch {
            throw InvoiceError.invalidInvoice("\(event.type) \(event.eventID) is not an invoice event: \(error)")
        }
        func missing(_ field: String) -> InvoiceError {
            InvoiceError.invalidInvoice("\(event.type) \(event.eventID) has no \(field)")
        }
        let object = parsed.data.object
        guard let eventCreated = parsed.created else { throw missing("created") }
        guard let id = object.id, !id.isEmpty else { throw missing("data.object.id") }
        guard let statusText = object.status else { throw missing("data.object.status") }
        guard let status = InvoiceStatus(rawValue: statusText) else {
            throw InvoiceError.invalidInvoice("\(event.type) \(event.eventID): unknown invoice status '\(statusText)'")
        }
        guard let currency = object.currency, currency.count == 3 else { throw missing("data.object.currency (3 letters)") }
        guard let amountDue = object.amount_due else { throw missing("data.object.amount_due") }
        guard let amountPaid = object.amount_paid else { throw missing("data.object.amount_paid") }
        guard let amountRemaining = object.amount_remaining else { throw missing("data.object.amount_remaining") }
        guard let created = object.created else { throw missing("data.object.created") }
        func time(_ seconds: Int64?) -> SQLTimestamp? {
            seconds.map { SQLTimestamp(microsecondsSinceEpoch: $0 * 1_000_000) }
        }
        var lines: [Line]?
        if let data = object.lines?.data {
            lines = try data.enumerated().map { index, line in
                guard let lineID = line.id, !lineID.isEmpty else { throw missing("data.object.lines.data.\(index).id") }
                guard let amount = line.amount else { throw missing("data.object.lines.data.\(index).amount") }
                let lineCurrency = line.currency ?? currency
                guard lineCurrency.count == 3 else { throw missing("data.object.lines.data.\(index).currency (3 letters)") }
                return Line(lineID: lineID, description: line.description.map { String($0.prefix(500)) }, amount: amount,
                            currency: lineCurrency.uppercased(), quantity: line.quantity,
                            periodStart: time(line.period?.start), periodEnd: time(line.period?.end))
            }
        }
        self.init(provider: event.provider, providerInvoiceID: id, providerCustomerID: object.customer,
                  providerSubscriptionID: object.subscription ?? object.parent?.subscription_details?.subscription,
                  number: object.number, status: status, currency: currency.uppercased(),
                  amountDue: amountDue, amountPaid: amountPaid, amountRemaining: amountRemaining,
                  periodStart: time(object.period_start), periodEnd: time(object.period_end), dueDate: time(object.due_date),
                  hostedInvoiceURL: object.hosted_invoice_url, invoicePDFURL: object.invoice_pdf,
                  invoiceCreatedAt: time(created)!, finalizedAt: time(object.status_transitions?.finalized_at),
                  paidAt: time(object.status_transitions?.paid_at), lines: lines,
                  linesComplete: object.lines.map { $0.has_more != true } ?? false,
                  eventID: event.eventID, eventCreatedAt: time(eventCreated)!)
    }
}
