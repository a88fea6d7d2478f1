import StrataSQL

/// The reads of a reconciliation run, on the caller's connection: each check returns
/// the discrepancies it found and counts what it looked at. Nothing is written here.
///
/// "In the period" means a time in [since, until): an event's `received_at`, a
/// purchase's `created_at`, an invoice's `paid_at` (else its `updated_at`), a provider
/// row's `created`. What a subject is matched *against* is looked up at any time, so a
/// purchase credited just after `until` for an event received just before it is no
/// discrepancy of either period.
struct ReconciliationChecks {
    let conn: any SQLConnection
    let since: SQLTimestamp
    let until: SQLTimestamp
    let now: SQLTimestamp

    /// What the checks found, unsorted, and what they counted.
    var counts = ReconciliationCounts()
    var found: [ReconciliationDiscrepancy] = []

    init(_ conn: any SQLConnection, since: SQLTimestamp, until: SQLTimestamp, now: SQLTimestamp) {
        self.conn = conn
        self.since = since
        self.until = until
        self.now = now
    }

    func inPeriod(_ t: SQLTimestamp) -> Bool { t >= since && t < until }

    /// Every check, in a fixed order; the provider's file when given.
    mutating func runAll(provider: ProviderPaymentsFile?) throws {
        let events = try StoredPaymentEvent.all(conn)
        try checkCheckoutSessions(events)
        try checkPurchases(events)
        try checkPaidInvoices(events)
        try checkWallets()
        try checkStuckWebhooks()
        if let provider { checkProvider(provider, events) }
    }

    /// Every paid checkout session of a processed event received in the period has
    /// exactly one purchase (ledger kind `purchase`, `external_reference` = the session
    /// id) of its package's current credits.
    mutating func checkCheckoutSessions(_ events: [StoredPaymentEvent]) throws {
        var sessions: [String: StoredPaymentEvent] = [:]
        for event in events where event.state == .processed && event.isPaidCheckout && inPeriod(event.receivedAt) {
            guard let session = event.objectID, sessions[session] == nil else { continue }
            sessions[session] = event
        }
        counts.checkoutEvents = Int64(sessions.count)
        guard !sessions.isEmpty else { return }
        let packages = try Dictionary(conn.query("SELECT package_id, credits FROM credit_packages").map {
            (try $0.decode("package_id", as: String.self), try $0.decode("credits", as: Int64.self))
        }, uniquingKeysWith: { a, _ in a })
        var purchases: [String: [(id: Int64, amount: Int64, customer: String)]] = [:]
        let ids = sessions.keys.sorted()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            for row in try conn.query("""
                SELECT t.id, t.amount, t.external_reference, c.external_id FROM credit_transactions t
                JOIN credit_wallets w ON w.id = t.wallet_id JOIN customers c ON c.id = w.customer_id
                WHERE t.kind = 'purchase' AND t.external_reference IN (\(list: chunk)) ORDER BY t.id
                """) {
                purchases[try row.decode("external_reference"), default: []].append(
                    (try row.decode("id"), try row.decode("amount"), try row.decode("external_id")))
            }
        }
        for session in ids {
            let event = sessions[session]!
            let expected = event.packageID.flatMap { packages[$0] }
            var details = ["event": event.reference, "package_id": event.packageID ?? "",
                           "customer": event.customer ?? ""]
            if let expected { details["expected_credits"] = "\(expected)" }
            let credited = purchases[session] ?? []
            details["purchases"] = credited.map { "\($0.id)" }.joined(separator: ",")
            switch credited.count {
            case 0:
                found.append(.init(kind: .missingPurchase, subjectType: "checkout_session", subjectID: session,
                                   amount: expected ?? 0, unit: .credits, details: details))
            case 1:
                if let expected, credited[0].amount != expected {
                    details["credited"] = "\(credited[0].amount)"
                    found.append(.init(kind: .wrongCredits, subjectType: "checkout_session", subjectID: session,
                                       amount: credited[0].amount - expected, unit: .credits, details: details))
                }
            default:
                details["customers"] = credited.map(\.customer).joined(separator: ",")
                let extra = credited.dropFirst().reduce(Int64(0)) { $0 &+ $1.amount }
                found.append(.init(kind: .duplicatePurchase, subjectType: "checkout_session", subjectID: session,
                                   amount: extra, unit: .credits, details: details))
            }
        }
    }

    /// Every purchase made in the period names, as its payment reference, the session
    /// of a stored checkout event (in any state, received at any time).
    mutating func checkPurchases(_ events: [StoredPaymentEvent]) throws {
        let sessions = Set(events.filter(\.isCheckout).compactMap(\.objectID))
        let rows = try conn.query("""
            SELECT t.id, t.amount, t.external_reference, t.actor, t.created_at, c.external_id FROM credit_transactions t
            JOIN credit_wallets w ON w.id = t.wallet_id JOIN customers c ON c.id = w.customer_id
            WHERE t.kind = 'purchase' AND t.created_at >= \(since) AND t.created_at < \(until) ORDER BY t.id
            """)
        counts.purchases = Int64(rows.count)
        for row in rows {
            let reference: String? = try row.decode("external_reference")
            if let reference, sessions.contains(reference) { continue }
            let id: Int64 = try row.decode("id")
            found.append(.init(kind: .purchaseWithoutEvent, subjectType: "credit_transaction", subjectID: "\(id)",
                               amount: try row.decode("amount"), unit: .credits,
                               details: ["customer": try row.decode("external_id"), "payment_reference": reference ?? "",
                                         "credited_by": try row.decode("actor"),
                                         "created_at": try row.decode("created_at", as: SQLTimestamp.self).iso8601]))
        }
    }

    /// Every invoice stored as paid in the period, with something to pay, has its
    /// payment recorded: `amount_paid` ≥ `amount_due`, and a processed
    /// `invoice.payment_succeeded` event of that invoice stored.
    mutating func checkPaidInvoices(_ events: [StoredPaymentEvent]) throws {
        var payments: Set<String> = []
        for event in events where event.type == StoredPaymentEvent.invoicePaymentType && event.state == .processed {
            if let invoice = event.objectID { payments.insert("\(event.provider):\(invoice)") }
        }
        let rows = try conn.query("""
            SELECT i.provider, i.provider_invoice_id, i.amount_due, i.amount_paid, i.currency, i.source_event_id,
                   c.external_id
            FROM invoices i JOIN customers c ON c.id = i.customer_id
            WHERE i.status = 'paid' AND COALESCE(i.paid_at, i.updated_at) >= \(since)
              AND COALESCE(i.paid_at, i.updated_at) < \(until)
            ORDER BY i.id
            """)
        counts.invoices = Int64(rows.count)
        for row in rows {
            let subject = "\(try row.decode("provider", as: String.self)):\(try row.decode("provider_invoice_id", as: String.self))"
            let due: Int64 = try row.decode("amount_due")
            let paid: Int64 = try row.decode("amount_paid")
            guard due > 0 else { continue }
            let hasEvent = payments.contains(subject)
            guard !hasEvent || paid < due else { continue }
            found.append(.init(kind: .paidInvoiceWithoutPayment, subjectType: "invoice", subjectID: subject,
                               amount: paid < due ? due - paid : due, unit: .minorUnits,
                               currency: try row.decode("currency"),
                               details: ["customer": try row.decode("external_id"), "amount_due": "\(due)",
                                         "amount_paid": "\(paid)", "payment_event": hasEvent ? "stored" : "none",
                                         "source_event": try row.decode("source_event_id")]))
        }
    }

    /// Every wallet's ledger verifies (``WalletService/verifyLedger(customer:)``), and no
    /// balance is below zero. Whole ledgers, whatever the period.
    mutating func checkWallets() throws {
        let wallets = try WalletLedger.summaries(conn)
        counts.wallets = Int64(wallets.count)
        for wallet in wallets {
            if wallet.balance < 0 {
                found.append(.init(kind: .negativeWallet, subjectType: "wallet", subjectID: wallet.customer,
                                   amount: wallet.balance, unit: .credits, details: ["wallet_id": "\(wallet.id)"]))
            }
            let report = try WalletLedger.verify(conn, wallet)
            guard !report.isConsistent else { continue }
            found.append(.init(kind: .ledgerInconsistent, subjectType: "wallet", subjectID: wallet.customer,
                               amount: report.balance &- report.ledgerSum, unit: .credits,
                               details: ["wallet_id": "\(wallet.id)", "balance": "\(report.balance)",
                                         "ledger_sum": "\(report.ledgerSum)",
                                         "problems": String(report.problems.prefix(5).joined(separator: "; ").prefix(1000))]))
        }
    }

    /// Webhook events left `processing` whose lease expired before now.
    mutating func checkStuckWebhooks() throws {
        for row in try conn.query("""
            SELECT provider, event_id, event_type, lease_owner, lease_expires_at, attempts FROM webhook_events
            WHERE state = 'processing' AND lease_expires_at < \(now) ORDER BY id
            """) {
            let subject = "\(try row.decode("provider", as: String.self)):\(try row.decode("event_id", as: String.self))"
            let owner: String? = try row.decode("lease_owner")
            let expired: SQLTimestamp? = try row.decode("lease_expires_at")
            found.append(.init(kind: .stuckWebhook, subjectType: "webhook_event", subjectID: subject, amount: 0, unit: .none,
                               details: ["type": try row.decode("event_type"), "lease_owner": owner ?? "",
                                         "lease_expired_at": expired?.iso8601 ?? "",
                                         "attempts": "\(try row.decode("attempts", as: Int64.self))"]))
        }
    }

    /// The provider's payments against the stored payment events (processed paid
    /// checkout sessions, processed invoice payments): a file row dated in the period
    /// that names no stored payment, a stored payment received in the period that no
    /// row names, and a match whose amount or currency differ.
    mutating func checkProvider(_ file: ProviderPaymentsFile, _ events: [StoredPaymentEvent]) {
        // One stored payment per session or invoice, known by every id it carries.
        var stored: [String: StoredPaymentEvent] = [:]
        for event in events where event.state == .processed
            && (event.isPaidCheckout || event.type == StoredPaymentEvent.invoicePaymentType) {
            guard let object = event.objectID, stored[object] == nil else { continue }
            stored[object] = event
        }
        var byID: [String: String] = [:]
        for (object, event) in stored {
            byID[object] = object
            for id in event.paymentIDs { byID[id] = object }
        }
        var matched: Set<String> = []
        var rows = 0
        for payment in file.payments {
            if let object = byID[payment.id] { matched.insert(object) }
            guard inPeriod(payment.created) else { continue }
            rows += 1
            let details = ["customer": payment.customer, "line": "\(payment.line)", "created": payment.created.iso8601]
            guard let object = byID[payment.id], let event = stored[object] else {
                found.append(.init(kind: .providerPaymentMissing, subjectType: "provider_payment", subjectID: payment.id,
                                   amount: payment.amount, unit: .minorUnits, currency: payment.currency, details: details))
                continue
            }
            if event.amount != payment.amount || event.currency != payment.currency {
                var more = details
                more["event"] = event.reference
                more["stored_amount"] = event.amount.map { "\($0)" } ?? ""
                more["stored_currency"] = event.currency ?? ""
                found.append(.init(kind: .amountMismatch, subjectType: "provider_payment", subjectID: payment.id,
                                   amount: payment.amount &- (event.amount ?? 0), unit: .minorUnits,
                                   currency: payment.currency, details: more))
            }
        }
        counts.providerRows = Int64(rows)
        for (object, event) in stored where inPeriod(event.receivedAt) && !matched.contains(object) {
            found.append(.init(kind: .storedPaymentNotAtProvider, subjectType: "provider_payment", subjectID: object,
                               amount: event.amount ?? 0, unit: .minorUnits, currency: event.currency,
                               details: ["event": event.reference, "customer": event.customer ?? "",
                                         "payment_ids": event.paymentIDs.joined(separator: ",")]))
        }
    }
}
