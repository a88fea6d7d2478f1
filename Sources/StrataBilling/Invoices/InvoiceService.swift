import Logging
import StrataSQL

/// The provider's invoices: recorded from its webhook events, read by customer and by id.
///
/// **Recording.** ``record(_:customer:context:)`` stores the invoice state one event
/// describes, keyed by (provider, provider invoice id), and its lines when the event
/// carries them. Events arrive in any order and any number of times, so a state only
/// replaces a stored one that is older: the event's `created` time decides, and for
/// two events of the same time the status rank (draft < open < paid, void,
/// uncollectible). A replay, or an older event after a newer one, writes nothing, not
/// even an audit row. The stored row is read `FOR UPDATE` before the comparison, so two
/// workers recording two events of one invoice at once queue on it and the second
/// compares with what the first committed (on a cluster, certification refuses one of
/// two concurrent writers and its transaction runs again). Every write is one
/// transaction with one `invoice.record` audit row.
///
/// **Reading.** ``list(customer:limit:after:)`` pages a customer's invoices newest first
/// (by the provider's creation time, then id) with an ``InvoiceCursor``;
/// ``invoice(id:)`` returns one with its lines; ``countByStatus()`` counts them all by
/// status (the `/metrics` gauge).
///
/// ```swift
/// let invoices = InvoiceService(database: db, clock: SystemClock(), logger: logger)
/// let page = try await invoices.list(customer: "acme", limit: 20)
/// if let first = page.invoices.first, let detail = try await invoices.invoice(id: first.id) {
///     print(detail.invoice.status, detail.lines.count, detail.invoice.invoicePDFURL ?? "")
/// }
/// ```
public struct InvoiceService: Sendable {
    /// The most invoices one page holds.
    public static let maxLimit = 500

    public let database: Database
    public let clock: any BillingClock
    private let logger: Logger

    /// - Parameters:
    ///   - database: the billing database.
    ///   - clock: the time of Strata's `created_at` / `updated_at` and of the audit rows.
    ///   - logger: where recorded invoices are logged.
    public init(database: Database, clock: any BillingClock = SystemClock(), logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    // MARK: Reading

    /// A page of the customer's invoices, newest first.
    ///
    /// - Parameters:
    ///   - customer: the customer's external id.
    ///   - limit: the most invoices to return, 1 to ``maxLimit``.
    ///   - cursor: the previous page's ``InvoicePage/nextCursor``, or `nil` for the first page.
    /// - Returns: the invoices, and the next page's cursor when there are more.
    /// - Throws: ``InvoiceError/unknownCustomer(_:)``, ``InvoiceError/invalidLimit(_:)``, or a ``DatabaseError``.
    public func list(customer: String, limit: Int = 50, after cursor: InvoiceCursor? = nil) async throws -> InvoicePage {
        guard (1...Self.maxLimit).contains(limit) else { throw InvoiceError.invalidLimit(limit) }
        return try await database.withConnection { conn in
            guard let customerID = try Customers.find(conn, externalID: customer) else {
                throw InvoiceError.unknownCustomer(customer)
            }
            var q: SQLQuery = """
                SELECT \(Invoice.columns) FROM invoices i JOIN customers c ON c.id = i.customer_id
                WHERE i.customer_id = \(customerID)
                """
            if let cursor {
                q.append("""
                     AND (i.invoice_created_at < \(cursor.invoiceCreatedAt)
                          OR (i.invoice_created_at = \(cursor.invoiceCreatedAt) AND i.id < \(cursor.id)))
                    """)
            }
            // One more than asked: it tells whether there is a next page.
            q.append(" ORDER BY i.invoice_created_at DESC, i.id DESC LIMIT \(Int64(limit + 1))")
            var invoices = try conn.query(q).map { try $0.decode(Invoice.self) }
            var next: InvoiceCursor?
            if invoices.count > limit {
                invoices.removeLast()
                next = invoices.last.map { InvoiceCursor(invoiceCreatedAt: $0.invoiceCreatedAt, id: $0.id) }
            }
            return InvoicePage(invoices: invoices, nextCursor: next)
        }
    }

    /// One invoice by Strata's id, with its lines, or `nil`.
    ///
    /// - Throws: ``DatabaseError``.
    public func invoice(id: Int64) async throws -> InvoiceDetail? {
        try await detail(where: "i.id = \(id)")
    }

    /// One invoice by the provider's id (`in_…`), with its lines, or `nil`.
    ///
    /// - Throws: ``DatabaseError``.
    public func invoice(provider: String, providerInvoiceID: String) async throws -> InvoiceDetail? {
        try await detail(where: "i.provider = \(provider) AND i.provider_invoice_id = \(providerInvoiceID)")
    }

    /// How many invoices are in each status, over every customer: every status is a key,
    /// `0` when no invoice has it.
    ///
    /// One grouped count, cheap enough to run at each scrape of `/metrics`.
    ///
    /// ```swift
    /// let counts = try await invoices.countByStatus()
    /// counts[.open]   // invoices finalized and not yet paid, voided or written off
    /// ```
    ///
    /// - Throws: ``DatabaseError``.
    public func countByStatus() async throws -> [InvoiceStatus: Int64] {
        try await database.withConnection { conn in
            var counts = Dictionary(uniqueKeysWithValues: InvoiceStatus.allCases.map { ($0, Int64(0)) })
            for row in try conn.query("SELECT status, COUNT(*) AS n FROM invoices GROUP BY status") {
                // The schema's CHECK admits only the five statuses; anything else is not counted.
                guard let status = InvoiceStatus(rawValue: try row.decode("status", as: String.self)) else { continue }
                counts[status] = try row.decode("n", as: Int64.self)
            }
            return counts
        }
    }

    private func detail(where condition: SQLQuery) async throws -> InvoiceDetail? {
        try await database.withConnection { conn in
            guard let invoice = try conn.queryFirst("""
                SELECT \(Invoice.columns) FROM invoices i JOIN customers c ON c.id = i.customer_id WHERE \(condition)
                """)?.decode(Invoice.self) else { return nil }
            let lines = try conn.query("""
                SELECT \(InvoiceLine.columns) FROM invoice_lines WHERE invoice_id = \(invoice.id) ORDER BY id
                """).map { try $0.decode(InvoiceLine.self) }
            return InvoiceDetail(invoice: invoice, lines: lines)
        }
    }

    // MARK: Recording

    /// Records the invoice state one provider event describes, unless the stored state is as new or newer.
    ///
    /// - Parameters:
    ///   - invoice: the event's invoice (``ProviderInvoice/init(stripeEvent:)``).
    ///   - customer: the external id of the customer billed; the customer must exist.
    ///   - context: who reports it, for the audit log.
    /// - Returns: what changed (see ``InvoiceChange``).
    /// - Throws: ``InvoiceError/unknownCustomer(_:)``, or a ``DatabaseError``.
    @discardableResult
    public func record(_ invoice: ProviderInvoice, customer: String, context: BillingContext) async throws -> InvoiceChange {
        try await record(invoice, customer: customer, context: context) { _, _ in () }.change
    }

    /// Records the invoice and runs `body` in the same transaction, with what recording
    /// did: for a handler whose other effect (a grace period) must commit with it.
    ///
    /// The transaction is run again, `body` too, after a deadlock, a serialization
    /// failure or a unique violation (a concurrent transaction inserted what this one
    /// looked for).
    func record<T: Sendable>(_ invoice: ProviderInvoice, customer: String, context: BillingContext,
                             now: SQLTimestamp? = nil,
                             then body: @escaping @Sendable (any SQLConnection, InvoiceChange) throws -> T)
        async throws -> (change: InvoiceChange, result: T) {
        let now = now ?? clock.now()
        let outcome = try await database.transaction(alsoRetrying: [.uniqueViolation]) { conn in
            guard let customerID = try Customers.find(conn, externalID: customer) else {
                throw InvoiceError.unknownCustomer(customer)
            }
            let change = try Self.apply(conn, invoice, customerID: customerID, customer: customer, context: context, now: now)
            return (change: change, result: try body(conn, change))
        }
        if outcome.change.applied {
            logger.info("invoice recorded", metadata: [
                "invoice": "\(outcome.change.id)", "provider_invoice": "\(invoice.providerInvoiceID)",
                "status": "\(invoice.status.rawValue)", "event": "\(invoice.eventID)",
            ])
        }
        return outcome
    }

    /// Inserts the invoice, or replaces a stored state that is older; writes its lines
    /// and audit row when it did.
    static func apply(_ conn: any SQLConnection, _ p: ProviderInvoice, customerID: Int64, customer: String,
                      context: BillingContext, now: SQLTimestamp) throws -> InvoiceChange {
        let doNothing = try conn.dialect.upsertClause(conflictColumns: ["provider", "provider_invoice_id"], updating: [])
        let change: InvoiceChange
        if let id = try conn.insertedID("""
            INSERT INTO invoices (provider, provider_invoice_id, customer_id, provider_subscription_id, number, status,
                                  currency, amount_due, amount_paid, amount_remaining, period_start, period_end, due_date,
                                  hosted_invoice_url, invoice_pdf_url, invoice_created_at, finalized_at, paid_at,
                                  source_event_id, source_event_created_at, created_at, updated_at)
            VALUES (\(p.provider), \(p.providerInvoiceID), \(customerID), \(p.providerSubscriptionID), \(p.number),
                    \(p.status.rawValue), \(p.currency), \(p.amountDue), \(p.amountPaid), \(p.amountRemaining),
                    \(p.periodStart), \(p.periodEnd), \(p.dueDate), \(p.hostedInvoiceURL), \(p.invoicePDFURL),
                    \(p.invoiceCreatedAt), \(p.finalizedAt), \(p.paidAt), \(p.eventID), \(p.eventCreatedAt), \(now), \(now))
            \(unsafeRaw: doNothing)
            """) {
            change = .inserted(id: id)
        } else {
            guard let stored = try conn.queryFirst("""
                SELECT id, status, source_event_created_at FROM invoices
                WHERE provider = \(p.provider) AND provider_invoice_id = \(p.providerInvoiceID)
                \(unsafeRaw: conn.dialect.forUpdate(of: "invoices"))
                """) else {
                throw DatabaseError(.other, message: "invoice \(p.providerInvoiceID) vanished while recording it")
            }
            let id: Int64 = try stored.decode("id")
            let status = try stored.decode("status", as: String.self)
            let storedStatus = InvoiceStatus(rawValue: status) ?? .draft
            let storedTime: SQLTimestamp = try stored.decode("source_event_created_at")
            if storedTime > p.eventCreatedAt || (storedTime == p.eventCreatedAt && storedStatus.rank > p.status.rank) {
                return .superseded(id: id)
            }
            if storedTime == p.eventCreatedAt && storedStatus.rank == p.status.rank {
                return .unchanged(id: id)
            }
            try conn.execute("""
                UPDATE invoices
                SET customer_id = \(customerID), provider_subscription_id = \(p.providerSubscriptionID), number = \(p.number),
                    status = \(p.status.rawValue), currency = \(p.currency), amount_due = \(p.amountDue),
                    amount_paid = \(p.amountPaid), amount_remaining = \(p.amountRemaining), period_start = \(p.periodStart),
                    period_end = \(p.periodEnd), due_date = \(p.dueDate), hosted_invoice_url = \(p.hostedInvoiceURL),
                    invoice_pdf_url = \(p.invoicePDFURL), invoice_created_at = \(p.invoiceCreatedAt),
                    finalized_at = \(p.finalizedAt), paid_at = \(p.paidAt), source_event_id = \(p.eventID),
                    source_event_created_at = \(p.eventCreatedAt), updated_at = \(now)
                WHERE id = \(id)
                """)
            change = .updated(id: id, previousStatus: storedStatus)
        }
        if let lines = p.lines {
            try writeLines(conn, lines, complete: p.linesComplete, invoiceID: change.id, now: now)
        }
        var details: [String: any Sendable] = [
            "customer": customer, "provider": p.provider, "provider_invoice_id": p.providerInvoiceID,
            "status": p.status.rawValue, "currency": p.currency, "amount_due": p.amountDue, "amount_paid": p.amountPaid,
            "amount_remaining": p.amountRemaining, "event_id": p.eventID, "event_created_at": p.eventCreatedAt.iso8601,
        ]
        if case .updated(_, let previous) = change { details["previous_status"] = previous.rawValue }
        try AuditLog.record(conn, context: context, action: "invoice.record", subjectType: "invoice",
                            subjectID: "\(change.id)", details: details, at: now)
        return change
    }

    /// Inserts or updates each line by its id; when the event's list is complete, removes
    /// the stored lines it no longer has.
    private static func writeLines(_ conn: any SQLConnection, _ lines: [ProviderInvoice.Line], complete: Bool,
                                   invoiceID: Int64, now: SQLTimestamp) throws {
        let upsert = try conn.dialect.upsertClause(
            conflictColumns: ["invoice_id", "line_id"],
            updating: ["description", "amount", "currency", "quantity", "period_start", "period_end", "updated_at"])
        for line in lines {
            try conn.execute("""
                INSERT INTO invoice_lines (invoice_id, line_id, description, amount, currency, quantity, period_start,
                                           period_end, created_at, updated_at)
                VALUES (\(invoiceID), \(line.lineID), \(line.description), \(line.amount), \(line.currency), \(line.quantity),
                        \(line.periodStart), \(line.periodEnd), \(now), \(now))
                \(unsafeRaw: upsert)
                """)
        }
        guard complete else { return }
        if lines.isEmpty {
            try conn.execute("DELETE FROM invoice_lines WHERE invoice_id = \(invoiceID)")
        } else {
            try conn.execute("""
                DELETE FROM invoice_lines WHERE invoice_id = \(invoiceID) AND line_id NOT IN (\(list: lines.map(\.lineID)))
                """)
        }
    }
}
