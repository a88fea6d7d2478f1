import ArgumentParser
import Foundation
import StrataBilling
import StrataSQL

/// `strata invoices`: the provider's invoices, as the webhook events recorded them.
struct Invoices: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoices",
        abstract: "The provider's invoices as its webhook events recorded them: a customer's list, one invoice with its lines.",
        discussion: """
            The built-in webhook handlers record invoice.created, invoice.finalized, \
            invoice.payment_failed and invoice.payment_succeeded (`strata webhooks work`); \
            an older event never replaces a newer state. Amounts are minor units of the \
            invoice's currency. An unknown customer or invoice exits with 9.
            """,
        subcommands: [InvoicesList.self, InvoicesShow.self])
}

/// Runs an invoice command with a service over a short-lived pool, giving invoice errors their exit codes.
func withInvoiceService(_ connection: ConnectionOptions, _ body: (InvoiceService) async throws -> Void) async throws {
    do {
        try await withBillingDatabase(connection, maxConnections: 1) { db in
            try await body(InvoiceService(database: db, logger: connection.logger()))
        }
    } catch InvoiceError.unknownCustomer(let customer) {
        throw CLIError(description: "\(InvoiceError.unknownCustomer(customer))", exitCode: StrataExit.notFound, code: "not_found")
    } catch let error as InvoiceError {
        throw CLIError.usage("\(error)")
    }
}

struct InvoicesList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a customer's invoices, newest first.",
        discussion: """
            Pages by the provider's creation time: when more invoices follow, the text \
            ends with the --cursor of the next page, and the JSON has it in next_cursor.
            """)

    @Argument(help: ArgumentHelp("The customer's external id.", valueName: "customer"))
    var customer: String

    @Option(help: ArgumentHelp("The most invoices to list (1 to \(InvoiceService.maxLimit)).", valueName: "n"))
    var limit: Int = 20

    @Option(help: ArgumentHelp("Start after this cursor (the next_cursor of the previous page).", valueName: "cursor"))
    var cursor: String?

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...InvoiceService.maxLimit).contains(limit) else {
            throw ValidationError("--limit must be 1 to \(InvoiceService.maxLimit), not \(limit)")
        }
        if let cursor, InvoiceCursor(cursor) == nil {
            throw ValidationError("--cursor '\(cursor)' is not a cursor a page printed")
        }
    }

    func run() async throws {
        try await guarded(json: output.json) {
            try await withInvoiceService(connection) { invoices in
                let page = try await invoices.list(customer: customer, limit: limit, after: cursor.flatMap { InvoiceCursor($0) })
                if output.json {
                    printJSON(["command": "invoices list", "customer": customer, "invoices": page.invoices.map(\.cliJSON),
                               "next_cursor": page.nextCursor.map { $0.description as Any } ?? NSNull()])
                    return
                }
                if page.invoices.isEmpty {
                    print("\(customer): no invoices\(cursor == nil ? "" : " after this cursor")")
                    return
                }
                print(InvoiceCLI.row(["ID", "PROVIDER ID", "NUMBER", "STATUS", "DUE", "PAID", "REMAINING", "CREATED"]))
                for i in page.invoices {
                    print(InvoiceCLI.row(["\(i.id)", i.providerInvoiceID, i.number ?? "-", i.status.rawValue,
                                          InvoiceCLI.money(i.amountDue, i.currency), InvoiceCLI.money(i.amountPaid, i.currency),
                                          InvoiceCLI.money(i.amountRemaining, i.currency), i.invoiceCreatedAt.iso8601]))
                }
                if let next = page.nextCursor {
                    print("more: --cursor \(next)")
                }
            }
        }
    }
}

struct InvoicesShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one invoice with its lines.",
        discussion: "ID is Strata's invoice id (a number) or the provider's (in_…, with --provider).")

    @Argument(help: ArgumentHelp("Strata's invoice id, or the provider's invoice id.", valueName: "id"))
    var id: String

    @Option(help: ArgumentHelp("The provider of a provider invoice id.", valueName: "name"))
    var provider: String = "stripe"

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            try await withInvoiceService(connection) { invoices in
                let found: InvoiceDetail?
                if let number = Int64(id), number > 0 {
                    found = try await invoices.invoice(id: number)
                } else {
                    found = try await invoices.invoice(provider: provider, providerInvoiceID: id)
                }
                guard let detail = found else {
                    throw CLIError(description: "no invoice \(id)", exitCode: StrataExit.notFound, code: "not_found")
                }
                let i = detail.invoice
                if output.json {
                    var object = i.cliJSON
                    object["lines"] = detail.lines.map(\.cliJSON)
                    printJSON(["command": "invoices show", "invoice": object])
                    return
                }
                print("invoice \(i.id): \(i.provider) \(i.providerInvoiceID)\(i.number.map { " number \($0)" } ?? ""), \(i.status.rawValue), customer \(i.customer)")
                print("amount due \(InvoiceCLI.money(i.amountDue, i.currency)), paid \(InvoiceCLI.money(i.amountPaid, i.currency)), remaining \(InvoiceCLI.money(i.amountRemaining, i.currency))")
                if let start = i.periodStart, let end = i.periodEnd {
                    print("period \(start.iso8601) to \(end.iso8601)")
                }
                let times = [("created", i.invoiceCreatedAt as SQLTimestamp?), ("finalized", i.finalizedAt), ("paid", i.paidAt),
                             ("due", i.dueDate)].compactMap { name, t in t.map { "\(name) \($0.iso8601)" } }
                print(times.joined(separator: ", "))
                if let url = i.hostedInvoiceURL { print("hosted: \(url)") }
                if let url = i.invoicePDFURL { print("pdf: \(url)") }
                print("state from event \(i.sourceEventID) of \(i.sourceEventCreatedAt.iso8601)")
                if detail.lines.isEmpty {
                    print("no lines")
                } else {
                    print("lines:")
                    for l in detail.lines {
                        let quantity = l.quantity.map { " x\($0)" } ?? ""
                        print("  \(l.lineID)  \(InvoiceCLI.money(l.amount, l.currency))\(quantity)  \(l.description ?? "")")
                    }
                }
            }
        }
    }
}

enum InvoiceCLI {
    /// Minor units with their currency, as stored: `4900 EUR`.
    static func money(_ amount: Int64, _ currency: String) -> String { "\(amount) \(currency)" }

    /// Columns padded for the list.
    static func row(_ cells: [String]) -> String {
        let widths = [8, 24, 16, 14, 14, 14, 14, 0]
        return zip(cells, widths).map { cell, width in
            width == 0 ? cell : cell.padding(toLength: max(width, cell.count + 1), withPad: " ", startingAt: 0)
        }.joined()
    }
}

extension Invoice {
    var cliJSON: [String: Any] {
        ["id": id, "provider": provider, "provider_invoice_id": providerInvoiceID, "customer": customer,
         "provider_subscription_id": providerSubscriptionID ?? NSNull(), "number": number ?? NSNull(),
         "status": status.rawValue, "currency": currency, "amount_due": amountDue, "amount_paid": amountPaid,
         "amount_remaining": amountRemaining, "period_start": periodStart?.iso8601 ?? NSNull(),
         "period_end": periodEnd?.iso8601 ?? NSNull(), "due_date": dueDate?.iso8601 ?? NSNull(),
         "hosted_invoice_url": hostedInvoiceURL ?? NSNull(), "invoice_pdf_url": invoicePDFURL ?? NSNull(),
         "invoice_created_at": invoiceCreatedAt.iso8601, "finalized_at": finalizedAt?.iso8601 ?? NSNull(),
         "paid_at": paidAt?.iso8601 ?? NSNull(), "source_event_id": sourceEventID,
         "source_event_created_at": sourceEventCreatedAt.iso8601, "created_at": createdAt.iso8601,
         "updated_at": updatedAt.iso8601]
    }
}

extension InvoiceLine {
    var cliJSON: [String: Any] {
        ["id": id, "line_id": lineID, "description": description ?? NSNull(), "amount": amount, "currency": currency,
         "quantity": quantity ?? NSNull(), "period_start": periodStart?.iso8601 ?? NSNull(),
         "period_end": periodEnd?.iso8601 ?? NSNull()]
    }
}
