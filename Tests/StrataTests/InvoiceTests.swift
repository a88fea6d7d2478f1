import Foundation
import Logging
import StrataBilling
import StrataSQL
import Testing

/// Invoices from Stripe's four invoice events, on both backends: out of order and twice
/// through the inbox and the retry worker, an older event after a newer one, lines
/// stored once, the grace-period effects of failed and successful payments in the same
/// transaction, the customer's list with its cursor, and `strata invoices`.
@Suite("Invoices")
struct InvoiceTests {
    /// 2026-01-01 00:00:00 UTC, in the seconds Stripe sends.
    static let t0: Int64 = 1_767_225_600

    // MARK: Events in any order, any number of times

    @Test(arguments: Backend.allCases)
    func theFourEventsOutOfOrderAndTwiceEndPaidWithoutAGracePeriod(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            try await Self.subscribedCustomer(db, clock, external: "acme", provider: "cus_ACME")
            let (inbox, worker, registry) = Self.pipeline(db, clock)
            let events = Self.lifecycle(invoice: "in_1", customer: "cus_ACME")

            // The payment first, the failure it settled after it, the creation last but one.
            var ids: [String: Int64] = [:]
            for name in ["succeeded", "created", "failed", "finalized"] {
                let (type, body) = events[name]!
                clock.advance(seconds: 1)
                ids[name] = try await Self.deliver(inbox, body)
                let summary = try await worker.runDue(limit: 1)
                #expect(summary.results[ids[name]!] == .processed, "\(type): \(summary.results)")
            }
            let invoices = InvoiceService(database: db, clock: clock, logger: TestLog.logger)
            let first = try #require(try await invoices.invoice(provider: "stripe", providerInvoiceID: "in_1"))
            Self.expectPaid(first)
            #expect(first.lines.map(\.lineID) == ["il_seat", "il_usage"])
            #expect(try await Self.count(db, "invoices") == 1)
            // Only the payment wrote: every other event was older.
            #expect(try await Self.auditCount(db, "invoice.record") == 1)
            // The failure came after the payment of the same invoice: no grace period.
            #expect(try await Self.count(db, "grace_periods") == 0)
            let grace = GracePeriodService(database: db, clock: clock, logger: TestLog.logger)
            #expect(try await grace.access(for: "acme") == .full)

            // Delivered again: the inbox keeps one of each.
            for name in ["finalized", "succeeded", "created", "failed"] {
                let body = events[name]!.1
                let again = try await inbox.receive(provider: "stripe", payload: body,
                                                    signatureHeader: WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now()))
                #expect(again.isDuplicate && again.id == ids[name])
            }
            #expect(try await worker.runDue(limit: 10).claimed == 0)
            // Handled again (a worker that lost its lease runs a handler twice): nothing changes.
            for name in ["finalized", "created", "succeeded", "failed"] {
                let event = try #require(try await inbox.event(id: ids[name]!))
                clock.advance(seconds: 1)
                try await registry.handler(for: event.type)!(event)
            }
            let after = try #require(try await invoices.invoice(id: first.invoice.id))
            #expect(after == first, "a replay changes nothing, updated_at included")
            #expect(try await Self.auditCount(db, "invoice.record") == 1)
            #expect(try await Self.count(db, "grace_periods") == 0)
            #expect(try await Self.count(db, "invoice_lines") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func inOrderTheGracePeriodOpensAndResolvesAndAnOlderEventChangesNothing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            try await Self.subscribedCustomer(db, clock, external: "acme", provider: "cus_ACME")
            let (inbox, worker, registry) = Self.pipeline(db, clock)
            let invoices = InvoiceService(database: db, clock: clock, logger: TestLog.logger)
            let grace = GracePeriodService(database: db, clock: clock, logger: TestLog.logger)
            let events = Self.lifecycle(invoice: "in_2", customer: "cus_ACME")

            for name in ["created", "finalized"] {
                clock.advance(seconds: 1)
                let id = try await Self.deliver(inbox, events[name]!.1)
                #expect(try await worker.runDue(limit: 1).results[id] == .processed)
            }
            var detail = try #require(try await invoices.invoice(provider: "stripe", providerInvoiceID: "in_2"))
            #expect(detail.invoice.status == .open && detail.invoice.number == "ACME-0001")
            #expect(detail.invoice.finalizedAt == SQLTimestamp(microsecondsSinceEpoch: (Self.t0 + 60) * 1_000_000))
            #expect(detail.invoice.paidAt == nil && detail.invoice.amountRemaining == 4900)
            #expect(detail.lines.count == 2)
            let lineIDs = detail.lines.map(\.id)

            clock.advance(seconds: 1)
            let failed = try await Self.deliver(inbox, events["failed"]!.1)
            #expect(try await worker.runDue(limit: 1).results[failed] == .processed)
            guard case .grace = try await grace.access(for: "acme") else {
                Issue.record("a failed payment opens a grace period")
                return
            }
            #expect(try await Self.auditCount(db, "grace.open") == 1)
            detail = try #require(try await invoices.invoice(id: detail.invoice.id))
            #expect(detail.invoice.status == .open && detail.invoice.sourceEventID == "evt_in_2_failed")

            clock.advance(seconds: 1)
            let succeeded = try await Self.deliver(inbox, events["succeeded"]!.1)
            #expect(try await worker.runDue(limit: 1).results[succeeded] == .processed)
            #expect(try await grace.access(for: "acme") == .full)
            #expect(try await Self.auditCount(db, "grace.resolve") == 1)
            let paid = try #require(try await invoices.invoice(id: detail.invoice.id))
            Self.expectPaid(paid)
            // The lines came again with the payment: the same rows, stored once.
            #expect(paid.lines.map(\.id) == lineIDs)
            #expect(try await Self.count(db, "invoice_lines") == 2)
            #expect(try await Self.auditCount(db, "invoice.record") == 4)

            // A second failure of the same invoice, older than its payment, arrives late
            // under a new event id: it changes nothing, and opens no grace period.
            let late = Self.event(id: "evt_in_2_failed_late", type: "invoice.payment_failed", created: Self.t0 + 150,
                                  object: Self.invoiceObject(id: "in_2", customer: "cus_ACME", status: "open",
                                                             created: Self.t0, finalizedAt: Self.t0 + 60))
            clock.advance(seconds: 1)
            let lateID = try await Self.deliver(inbox, late)
            #expect(try await worker.runDue(limit: 1).results[lateID] == .processed)
            #expect(try await invoices.invoice(id: paid.invoice.id) == paid)
            #expect(try await grace.access(for: "acme") == .full)
            #expect(try await Self.count(db, "grace_periods WHERE state = 'open'") == 0)
            #expect(try await Self.auditCount(db, "invoice.record") == 4)

            // Every event handled once more: nothing changes.
            for id in [failed, succeeded, lateID] {
                let event = try #require(try await inbox.event(id: id))
                try await registry.handler(for: event.type)!(event)
            }
            #expect(try await invoices.invoice(id: paid.invoice.id) == paid)
            #expect(try await Self.auditCount(db, "invoice.record") == 4)
            #expect(try await Self.auditCount(db, "grace.open") == 1)
            #expect(try await grace.access(for: "acme") == .full)
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailureWhoseGracePeriodCannotOpenRecordsNoInvoice(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            // A customer without a subscription: the grace period cannot open.
            try await db.withConnection { conn in
                let id = try Customers.ensure(conn, externalID: "solo", at: clock.now())
                try conn.execute("UPDATE customers SET provider_customer_id = \("cus_SOLO") WHERE id = \(id)")
            }
            let (inbox, worker, _) = Self.pipeline(db, clock)
            let events = Self.lifecycle(invoice: "in_solo", customer: "cus_SOLO")
            let failed = try await Self.deliver(inbox, events["failed"]!.1)
            let summary = try await worker.runDue(limit: 1)
            if case .retryScheduled = summary.results[failed] {} else { Issue.record("the attempt fails: \(summary.results)") }
            #expect(try await inbox.event(id: failed)?.lastError?.contains("no subscription") == true)
            // Both effects or neither: the invoice was rolled back with the grace period.
            #expect(try await Self.count(db, "invoices") == 0)
            #expect(try await Self.auditCount(db, "invoice.record") == 0)

            // The invoice events without grace effects record it.
            clock.advance(seconds: 1)
            let created = try await Self.deliver(inbox, events["created"]!.1)
            #expect(try await worker.runDue(limit: 10).results[created] == .processed)
            #expect(try await Self.count(db, "invoices") == 1)

            // An invoice event without the invoice's fields fails and says which.
            clock.advance(seconds: 1)
            let broken = try await Self.deliver(inbox, Self.event(id: "evt_broken", type: "invoice.finalized", created: Self.t0,
                                                                  object: ["id": "in_x", "customer": "cus_SOLO", "status": "open"]))
            _ = try await worker.runDue(limit: 10)
            #expect(try await inbox.event(id: broken)?.lastError?.contains("data.object.currency") == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func theFourEventsHandledAtOnceByFourWorkersEndPaid(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 10) { db, _ in
            let clock = ManualClock()
            try await Self.subscribedCustomer(db, clock, external: "acme", provider: "cus_ACME")
            let (inbox, _, registry) = Self.pipeline(db, clock)
            let events = Self.lifecycle(invoice: "in_3", customer: "cus_ACME")
            for (_, body) in events.values { _ = try await Self.deliver(inbox, body) }
            let workers = (1...4).map {
                RetryWorker(id: "w\($0)", database: db, registry: registry, clock: clock, logger: TestLog.logger, random: { 0.5 })
            }
            // Each worker takes one event, so the four handlers run at once.
            let processed = try await withThrowingTaskGroup(of: Int.self) { group in
                for w in workers { group.addTask { try await w.runDue(limit: 1).processed } }
                return try await group.reduce(0, +)
            }
            #expect(processed == 4)
            let invoices = InvoiceService(database: db, clock: clock, logger: TestLog.logger)
            let detail = try #require(try await invoices.invoice(provider: "stripe", providerInvoiceID: "in_3"))
            #expect(detail.invoice.status == .paid && detail.invoice.sourceEventID == "evt_in_3_succeeded")
            #expect(detail.lines.count == 2)
            #expect(try await Self.count(db, "invoice_lines") == 2)
            // Whichever order they ran in, the payment won: no grace period is left open.
            #expect(try await Self.count(db, "grace_periods WHERE state = 'open'") == 0)
            let grace = GracePeriodService(database: db, clock: clock, logger: TestLog.logger)
            #expect(try await grace.access(for: "acme") == .full)
        }
    }

    @Test(arguments: Backend.allCases)
    func theSchemaRefusesWhatAnInvoiceCannotBe(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let now = SQLTimestamp(microsecondsSinceEpoch: Self.t0 * 1_000_000)
            let customer = try await db.withConnection { try Customers.ensure($0, externalID: "acme", at: now) }
            @Sendable func insert(_ conn: any SQLConnection, id: String, status: String = "open", currency: String = "EUR",
                                  due: Int64 = 100) throws {
                try conn.execute("""
                    INSERT INTO invoices (provider, provider_invoice_id, customer_id, status, currency, amount_due, amount_paid,
                                          amount_remaining, invoice_created_at, source_event_id, source_event_created_at,
                                          created_at, updated_at)
                    VALUES ('stripe', \(id), \(customer), \(status), \(currency), \(due), \(Int64(0)), \(due), \(now),
                            'evt_1', \(now), \(now), \(now))
                    """)
            }
            func refused(_ category: DatabaseError.Category, _ body: @escaping @Sendable (any SQLConnection) throws -> Void,
                         sourceLocation: SourceLocation = #_sourceLocation) async {
                let error = await #expect(throws: DatabaseError.self, sourceLocation: sourceLocation) {
                    try await db.withConnection(body)
                }
                #expect(error?.category == category, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
            }
            try await db.withConnection { try insert($0, id: "in_1") }
            await refused(.uniqueViolation) { try insert($0, id: "in_1") }
            try await db.withConnection { try insert($0, id: "IN_1") }   // provider ids are case-sensitive
            await refused(.checkViolation) { try insert($0, id: "in_2", status: "refunded") }
            await refused(.checkViolation) { try insert($0, id: "in_3", currency: "EU") }
            await refused(.checkViolation) { try insert($0, id: "in_4", due: -1) }
            let invoice: Int64 = try await db.withConnection { conn in
                try conn.queryFirst("SELECT id FROM invoices WHERE provider_invoice_id = 'in_1'")!.decode("id")
            }
            @Sendable func line(_ conn: any SQLConnection, _ lineID: String) throws {
                try conn.execute("""
                    INSERT INTO invoice_lines (invoice_id, line_id, amount, currency, created_at, updated_at)
                    VALUES (\(invoice), \(lineID), \(Int64(-50)), 'EUR', \(now), \(now))
                    """)
            }
            try await db.withConnection { try line($0, "il_1") }   // a negative line (a discount) is a line
            await refused(.uniqueViolation) { try line($0, "il_1") }
            // A customer with invoices is history: it cannot be deleted.
            await refused(.foreignKeyViolation) { conn in
                try conn.execute("DELETE FROM customers WHERE id = \(customer)")
            }
        }
    }

    // MARK: Reading

    @Test(arguments: Backend.allCases)
    func aCustomersInvoicesPageNewestFirstWithACursor(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let clock = ManualClock()
            let invoices = InvoiceService(database: db, clock: clock, logger: TestLog.logger)
            try await Self.recordFive(db, invoices, clock)

            var seen: [String] = []
            var page = try await invoices.list(customer: "acme", limit: 2)
            var sizes = [page.invoices.count]
            seen += page.invoices.map(\.providerInvoiceID)
            while let next = page.nextCursor {
                #expect(InvoiceCursor(next.description) == next)
                page = try await invoices.list(customer: "acme", limit: 2, after: next)
                sizes.append(page.invoices.count)
                seen += page.invoices.map(\.providerInvoiceID)
            }
            // Newest first; in_c and in_d share a creation time: the later id first.
            #expect(seen == ["in_e", "in_d", "in_c", "in_b", "in_a"])
            #expect(sizes == [2, 2, 1])
            let whole = try await invoices.list(customer: "acme", limit: 5)
            #expect(whole.invoices.map(\.providerInvoiceID) == seen && whole.nextCursor == nil)
            #expect(whole.invoices.allSatisfy { $0.customer == "acme" && $0.currency == "EUR" })
            #expect(try await invoices.list(customer: "other").invoices.map(\.providerInvoiceID) == ["in_other"])

            await #expect(throws: InvoiceError.unknownCustomer("nobody")) { try await invoices.list(customer: "nobody") }
            await #expect(throws: InvoiceError.invalidLimit(0)) { try await invoices.list(customer: "acme", limit: 0) }
            #expect(throws: InvoiceError.invalidCursor("12x")) { try InvoiceCursor.parse("12x") }
            #expect(try await invoices.invoice(id: 999_999) == nil)
            #expect(try await invoices.invoice(provider: "stripe", providerInvoiceID: "IN_A") == nil, "ids are case-sensitive")

            // Every customer's, by status; a status no invoice has counts 0.
            #expect(try await invoices.countByStatus() == [.draft: 0, .open: 1, .paid: 5, .void: 0, .uncollectible: 0])
        }
    }

    @Test(arguments: Backend.allCases)
    func cliListsAndShowsInvoices(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, url in
            let clock = ManualClock()
            let invoices = InvoiceService(database: db, clock: clock, logger: TestLog.logger)
            try await Self.recordFive(db, invoices, clock)
            let env = ["DATABASE_URL": url.urlString]

            var r = try await StrataCLI.run(["invoices", "list", "acme", "--limit", "2", "--json"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            let listed = (r.json?["invoices"] as? [[String: Any]]) ?? []
            #expect(listed.map { $0["provider_invoice_id"] as? String } == ["in_e", "in_d"])
            #expect(listed.first?["amount_due"] as? Int == 5000 && listed.first?["status"] as? String == "paid")
            #expect(listed.first?["invoice_pdf_url"] as? String == "https://pay.stripe.com/invoice/in_e/pdf")
            let cursor = try #require(r.json?["next_cursor"] as? String)

            r = try await StrataCLI.run(["invoices", "list", "acme", "--limit", "2", "--cursor", cursor], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("ID") == true && lines.count == 4, "\(r.stdout)")
            #expect(lines[1].contains("in_c") && lines[1].contains("3000 EUR") && lines[2].contains("in_b"), "\(r.stdout)")
            #expect(lines.last?.hasPrefix("more: --cursor ") == true, "\(r.stdout)")
            let last = String(lines.last!.dropFirst("more: --cursor ".count))
            r = try await StrataCLI.run(["invoices", "list", "acme", "--limit", "2", "--cursor", last, "--json"], environment: env)
            #expect((r.json?["invoices"] as? [[String: Any]])?.map { $0["provider_invoice_id"] as? String } == ["in_a"])
            #expect(r.json?["next_cursor"] is NSNull, "\(r.stdout)")

            let detail = try #require(try await invoices.invoice(provider: "stripe", providerInvoiceID: "in_e"))
            r = try await StrataCLI.run(["invoices", "show", "\(detail.invoice.id)", "--json"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            let shown = r.json?["invoice"] as? [String: Any]
            #expect(shown?["id"] as? Int == Int(detail.invoice.id) && shown?["number"] as? String == "ACME-0005")
            #expect(shown?["paid_at"] as? String == detail.invoice.paidAt?.iso8601)
            #expect((shown?["lines"] as? [[String: Any]])?.map { $0["line_id"] as? String } == ["il_e_seat", "il_e_usage"])
            #expect((shown?["lines"] as? [[String: Any]])?.map { $0["amount"] as? Int } == [4000, 1000])

            r = try await StrataCLI.run(["invoices", "show", "in_e"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("invoice \(detail.invoice.id): stripe in_e number ACME-0005, paid, customer acme"), "\(r.stdout)")
            #expect(r.stdout.contains("amount due 5000 EUR, paid 5000 EUR, remaining 0 EUR"), "\(r.stdout)")
            #expect(r.stdout.contains("pdf: https://pay.stripe.com/invoice/in_e/pdf"), "\(r.stdout)")
            #expect(r.stdout.contains("il_e_seat  4000 EUR x1  Pro seat"), "\(r.stdout)")

            r = try await StrataCLI.run(["invoices", "show", "in_missing", "--json"], environment: env)
            #expect(r.status == 9 && r.json?["code"] as? String == "not_found", "\(r.stdout) \(r.stderr)")
            #expect(r.stderr == "strata: error: no invoice in_missing\n", "\(r.stderr)")
            r = try await StrataCLI.run(["invoices", "list", "nobody"], environment: env)
            #expect(r.status == 9 && r.stderr.contains("no customer has the external id 'nobody'"), "\(r.stderr)")
            r = try await StrataCLI.run(["invoices", "list", "acme", "--cursor", "garbage"], environment: env)
            #expect(r.status == 64 && r.stderr.contains("--cursor"), "\(r.stderr)")
            r = try await StrataCLI.run(["invoices", "list", "acme", "--limit", "0"], environment: env)
            #expect(r.status == 64 && r.stderr.contains("--limit"), "\(r.stderr)")
        }
    }

    // MARK: Helpers

    static let secret = "whsec_test_invoices"

    /// The inbox, a worker over the built-in handlers, and the handlers themselves.
    static func pipeline(_ db: Database, _ clock: ManualClock) -> (WebhookInbox, RetryWorker, WebhookHandlerRegistry) {
        let registry = WebhookHandlerRegistry.builtIn(
            wallets: WalletService(database: db, clock: clock, logger: TestLog.logger),
            grace: GracePeriodService(database: db, clock: clock, logger: TestLog.logger))
        let inbox = WebhookInbox(database: db, clock: clock, logger: TestLog.logger, secret: secret)
        let worker = RetryWorker(id: "invoices", database: db, registry: registry, clock: clock, logger: TestLog.logger,
                                 random: { 0.5 })
        return (inbox, worker, registry)
    }

    /// A customer with a provider customer id and an active subscription.
    static func subscribedCustomer(_ db: Database, _ clock: ManualClock, external: String, provider: String) async throws {
        let now = clock.now()
        try await db.withConnection { conn in
            try conn.execute("""
                INSERT INTO plans (code, name, price_minor, currency, billing_interval, included_credits, usage_limit, features, active, created_at, updated_at)
                VALUES (\("pro"), \("Pro"), \(Int64(4900)), \("EUR"), \("month"), \(Int64(1000)), \(Int64(5000)), \(SQLJSON("{}")), \(true), \(now), \(now))
                """)
        }
        let subscriptions = SubscriptionService(database: db, clock: clock, logger: TestLog.logger)
        _ = try await subscriptions.subscribe(customer: external, planCode: "pro", context: BillingContext(actor: "admin:test"))
        try await db.withConnection { conn in
            try conn.execute("UPDATE customers SET provider_customer_id = \(provider) WHERE external_id = \(external)")
        }
    }

    /// Stripe's invoice object, as `data.object` carries it.
    static func invoiceObject(id: String, customer: String, status: String, amountDue: Int = 4900, amountPaid: Int = 0,
                              created: Int64, finalizedAt: Int64? = nil, paidAt: Int64? = nil, number: String? = nil,
                              lines: [[String: Any]]? = nil) -> [String: Any] {
        var object: [String: Any] = [
            "id": id, "object": "invoice", "customer": customer, "subscription": "sub_\(id)", "status": status,
            "currency": "eur", "amount_due": amountDue, "amount_paid": amountPaid, "amount_remaining": amountDue - amountPaid,
            "created": created, "period_start": created - 2_592_000, "period_end": created, "due_date": created + 1_209_600,
            "number": number ?? NSNull(), "hosted_invoice_url": "https://invoice.stripe.com/i/\(id)",
            "invoice_pdf": "https://pay.stripe.com/invoice/\(id)/pdf",
            "status_transitions": ["finalized_at": finalizedAt.map { $0 as Any } ?? NSNull(), "paid_at": paidAt.map { $0 as Any } ?? NSNull()],
        ]
        if let lines { object["lines"] = ["object": "list", "data": lines, "has_more": false] }
        return object
    }

    static func lines(_ prefix: String, seat: Int = 4000, usage: Int = 900) -> [[String: Any]] {
        [["id": "il_\(prefix)seat", "description": "Pro seat", "amount": seat, "currency": "eur", "quantity": 1,
          "period": ["start": t0 - 2_592_000, "end": t0]],
         ["id": "il_\(prefix)usage", "description": "Agent runs", "amount": usage, "currency": "eur", "quantity": 90,
          "period": ["start": t0 - 2_592_000, "end": t0]]]
    }

    /// A Stripe event's JSON text.
    static func event(id: String, type: String, created: Int64, object: [String: Any]) -> String {
        let document: [String: Any] = ["id": id, "object": "event", "type": type, "created": created, "livemode": false,
                                       "data": ["object": object]]
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The four events of one invoice's life: created (draft), finalized (open, with its
    /// lines), the payment failed, the payment succeeded (paid, with its lines again).
    static func lifecycle(invoice: String, customer: String) -> [String: (String, String)] {
        let lines = lines("")
        let number = "ACME-0001"
        return [
            "created": ("invoice.created", event(
                id: "evt_\(invoice)_created", type: "invoice.created", created: t0,
                object: invoiceObject(id: invoice, customer: customer, status: "draft", created: t0))),
            "finalized": ("invoice.finalized", event(
                id: "evt_\(invoice)_finalized", type: "invoice.finalized", created: t0 + 60,
                object: invoiceObject(id: invoice, customer: customer, status: "open", created: t0, finalizedAt: t0 + 60,
                                      number: number, lines: lines))),
            "failed": ("invoice.payment_failed", event(
                id: "evt_\(invoice)_failed", type: "invoice.payment_failed", created: t0 + 120,
                object: invoiceObject(id: invoice, customer: customer, status: "open", created: t0, finalizedAt: t0 + 60,
                                      number: number))),
            "succeeded": ("invoice.payment_succeeded", event(
                id: "evt_\(invoice)_succeeded", type: "invoice.payment_succeeded", created: t0 + 180,
                object: invoiceObject(id: invoice, customer: customer, status: "paid", amountPaid: 4900, created: t0,
                                      finalizedAt: t0 + 60, paidAt: t0 + 180, number: number, lines: lines))),
        ]
    }

    static func expectPaid(_ detail: InvoiceDetail, sourceLocation: SourceLocation = #_sourceLocation) {
        let i = detail.invoice
        #expect(i.status == .paid && i.customer == "acme" && i.number == "ACME-0001", sourceLocation: sourceLocation)
        #expect(i.currency == "EUR" && i.amountDue == 4900 && i.amountPaid == 4900 && i.amountRemaining == 0,
                sourceLocation: sourceLocation)
        #expect(i.providerSubscriptionID == "sub_\(i.providerInvoiceID)", sourceLocation: sourceLocation)
        #expect(i.invoiceCreatedAt == SQLTimestamp(microsecondsSinceEpoch: t0 * 1_000_000), sourceLocation: sourceLocation)
        #expect(i.finalizedAt == SQLTimestamp(microsecondsSinceEpoch: (t0 + 60) * 1_000_000), sourceLocation: sourceLocation)
        #expect(i.paidAt == SQLTimestamp(microsecondsSinceEpoch: (t0 + 180) * 1_000_000), sourceLocation: sourceLocation)
        #expect(i.dueDate == SQLTimestamp(microsecondsSinceEpoch: (t0 + 1_209_600) * 1_000_000), sourceLocation: sourceLocation)
        #expect(i.invoicePDFURL == "https://pay.stripe.com/invoice/\(i.providerInvoiceID)/pdf", sourceLocation: sourceLocation)
        #expect(i.sourceEventID == "evt_\(i.providerInvoiceID)_succeeded", sourceLocation: sourceLocation)
        #expect(i.sourceEventCreatedAt == SQLTimestamp(microsecondsSinceEpoch: (t0 + 180) * 1_000_000), sourceLocation: sourceLocation)
        #expect(detail.lines.map(\.amount) == [4000, 900] && detail.lines.map(\.quantity) == [1, 90], sourceLocation: sourceLocation)
        #expect(detail.lines.allSatisfy { $0.currency == "EUR" && $0.description != nil }, sourceLocation: sourceLocation)
    }

    /// Five invoices of acme (in_c and in_d created at the same second) and one of another customer.
    static func recordFive(_ db: Database, _ invoices: InvoiceService, _ clock: ManualClock) async throws {
        try await db.withConnection { conn in
            _ = try Customers.ensure(conn, externalID: "acme", at: clock.now())
            _ = try Customers.ensure(conn, externalID: "other", at: clock.now())
        }
        let specs: [(String, Int64, Int)] = [("in_a", t0, 1000), ("in_b", t0 + 86_400, 2000), ("in_c", t0 + 172_800, 3000),
                                             ("in_d", t0 + 172_800, 4000), ("in_e", t0 + 259_200, 5000)]
        for (n, (id, created, amount)) in specs.enumerated() {
            let letter = String(id.dropFirst(3))
            let object = invoiceObject(id: id, customer: "cus_acme", status: "paid", amountDue: amount, amountPaid: amount,
                                       created: created, finalizedAt: created, paidAt: created + 60,
                                       number: "ACME-000\(n + 1)",
                                       lines: lines("\(letter)_", seat: amount - 1000, usage: 1000))
            try await record(invoices, id: "evt_\(id)", created: created + 60, object: object, customer: "acme")
        }
        try await record(invoices, id: "evt_other", created: t0,
                         object: invoiceObject(id: "in_other", customer: "cus_other", status: "open", created: t0),
                         customer: "other")
    }

    static func record(_ invoices: InvoiceService, id: String, created: Int64, object: [String: Any], customer: String) async throws {
        let payload = event(id: id, type: "invoice.payment_succeeded", created: created, object: object)
        let stored = WebhookEvent(id: 1, provider: "stripe", eventID: id, type: "invoice.payment_succeeded", payload: payload,
                                  state: .processing, attempts: 0, nextAttemptAt: nil, leaseOwner: nil, leaseExpiresAt: nil,
                                  lastError: nil, receivedAt: SQLTimestamp(microsecondsSinceEpoch: 0), processedAt: nil)
        try await invoices.record(try ProviderInvoice(stripeEvent: stored), customer: customer,
                                  context: BillingContext(actor: "test"))
    }

    static func deliver(_ inbox: WebhookInbox, _ body: String) async throws -> Int64 {
        try await inbox.receive(provider: "stripe", payload: body,
                                signatureHeader: WebhookSignature.sign(payload: body, secret: secret, at: inbox.clock.now())).id
    }

    static func count(_ db: Database, _ tableAndCondition: String) async throws -> Int64 {
        try await db.withConnection { conn in
            try conn.queryFirst(SQLQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(tableAndCondition)"))?.decode("n") ?? -1
        }
    }

    static func auditCount(_ db: Database, _ action: String) async throws -> Int64 {
        try await db.withConnection { conn in
            try conn.queryFirst("SELECT COUNT(*) AS n FROM billing_audit WHERE action = \(action)")?.decode("n") ?? -1
        }
    }
}
