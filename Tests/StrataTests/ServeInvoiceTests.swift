import Foundation
import StrataBilling
import StrataSQL
import Testing

/// `GET /billing/invoices` and `GET /billing/invoices/{id}` of a real `strata serve`, on
/// both backends, with the invoices delivered as Stripe would deliver them: signed
/// events to `POST /billing/webhook`, recorded by the server's own workers.
///
/// Serialized like ``ServeTests``: each test runs a server and waits for its workers.
@Suite("strata serve invoices", .serialized)
struct ServeInvoiceTests {
    static let t0 = InvoiceTests.t0
    static let day: Int64 = 86_400

    @Test(arguments: Backend.allCases)
    func aCustomerPagesItsOwnInvoicesNewestFirstAndReadsOneWithItsLines(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let acme = TestJWT.customer("acme")
            try await Self.deliverTheInvoices(http: http, db: db)

            // The whole list, newest first: in_e, then in_c and in_d (created in the same
            // second: the larger id first), in_b, in_a; never another customer's.
            let all = try await http.get("/billing/invoices?limit=100", token: acme)
            #expect(all.status == 200, "\(all.text)")
            #expect(all.json["next_cursor"] is NSNull)
            let invoices = all.json["invoices"] as? [[String: Any]] ?? []
            let order = invoices.compactMap { $0["provider_invoice_id"] as? String }
            #expect(order.count == 5 && order.first == "in_e" && Set(order[1...2]) == ["in_c", "in_d"]
                    && Array(order.suffix(2)) == ["in_b", "in_a"], "\(order)")
            let keys = invoices.map { ($0["invoice_created_at"] as? String ?? "", $0["id"] as? Int ?? 0) }
            #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 > $1.1) }, "\(keys)")
            #expect(invoices.allSatisfy { $0["customer"] as? String == "acme" })

            // The default page is 20: all five, and no cursor.
            let first = try await http.get("/billing/invoices", token: acme)
            #expect((first.json["invoices"] as? [[String: Any]])?.count == 5 && first.json["next_cursor"] is NSNull)

            // Two by two: three pages, each invoice once, in the same order.
            var paged: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/billing/invoices?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await http.get(path, token: acme)
                #expect(page.status == 200, "\(page.text)")
                let rows = page.json["invoices"] as? [[String: Any]] ?? []
                paged += rows.compactMap { $0["provider_invoice_id"] as? String }
                cursor = page.json["next_cursor"] as? String
                pages += 1
                #expect(rows.count == (cursor == nil ? 1 : 2), "page \(pages): \(page.text)")
            } while cursor != nil && pages < 5
            #expect(pages == 3 && paged == order, "\(paged)")

            // The paid invoice: amounts in minor units, times in RFC 3339 UTC, the provider's URLs.
            let paid = try #require(invoices.first)
            #expect(paid["status"] as? String == "paid" && paid["currency"] as? String == "EUR")
            #expect(paid["amount_due"] as? Int == 4900 && paid["amount_paid"] as? Int == 4900 && paid["amount_remaining"] as? Int == 0)
            #expect(paid["number"] as? String == "ACME-0005" && paid["provider"] as? String == "stripe")
            #expect(paid["provider_subscription_id"] as? String == "sub_in_e")
            #expect(paid["invoice_created_at"] as? String == "2026-01-05T00:00:00.000000Z")
            #expect(paid["finalized_at"] as? String == "2026-01-05T00:01:00.000000Z")
            #expect(paid["paid_at"] as? String == "2026-01-05T00:03:00.000000Z")
            #expect(paid["due_date"] as? String == "2026-01-19T00:00:00.000000Z")
            #expect(paid["hosted_invoice_url"] as? String == "https://invoice.stripe.com/i/in_e")
            #expect(paid["invoice_pdf_url"] as? String == "https://pay.stripe.com/invoice/in_e/pdf")
            // A draft has no number, no finalization and no payment: those members are absent.
            let draft = try #require(invoices.first { $0["provider_invoice_id"] as? String == "in_d" })
            #expect(draft["status"] as? String == "draft" && draft["amount_paid"] as? Int == 0 && draft["amount_remaining"] as? Int == 4900)
            #expect(draft["number"] == nil && draft["finalized_at"] == nil && draft["paid_at"] == nil, "\(draft)")
            // in_b was created, then finalized: the newer state.
            let open = try #require(invoices.first { $0["provider_invoice_id"] as? String == "in_b" })
            #expect(open["status"] as? String == "open" && open["number"] as? String == "ACME-0002")

            // One invoice with its lines, in the provider's order.
            let id = try #require(paid["id"] as? Int)
            let detail = try await http.get("/billing/invoices/\(id)", token: acme)
            #expect(detail.status == 200, "\(detail.text)")
            let shown = detail.json["invoice"] as? [String: Any] ?? [:]
            #expect(shown["id"] as? Int == id && shown["provider_invoice_id"] as? String == "in_e" && shown["status"] as? String == "paid")
            let lines = detail.json["lines"] as? [[String: Any]] ?? []
            #expect(lines.compactMap { $0["line_id"] as? String } == ["il_e_seat", "il_e_usage"], "\(detail.text)")
            #expect(lines.compactMap { $0["amount"] as? Int } == [4000, 900])
            #expect(lines.compactMap { $0["quantity"] as? Int } == [1, 90])
            #expect(lines.allSatisfy { $0["currency"] as? String == "EUR" && $0["period_end"] as? String == "2026-01-01T00:00:00.000000Z" })
            // An invoice no event gave lines has none.
            let openID = try #require(open["id"] as? Int)
            let bare = try await http.get("/billing/invoices/\(openID)", token: acme)
            #expect(bare.status == 200 && (bare.json["lines"] as? [Any])?.isEmpty == true, "\(bare.text)")

            // Another customer's invoice is a 404, word for word the answer for an id
            // that does not exist: the route does not tell which ids exist.
            let othersID = try await Self.invoiceID(db, "in_other")
            let foreign = try await http.get("/billing/invoices/\(othersID)", token: acme)
            let missing = try await http.get("/billing/invoices/999999999", token: acme)
            for answer in [foreign, missing] {
                #expect(answer.status == 404 && answer.json["error_code"] as? String == "BILLING_INVOICE_NOT_FOUND", "\(answer.text)")
            }
            #expect(foreign.json["message"] as? String == missing.json["message"] as? String)
            for path in ["/billing/invoices/0", "/billing/invoices/-1", "/billing/invoices/in_e", "/billing/invoices/99999999999999999999"] {
                let answer = try await http.get(path, token: acme)
                #expect(answer.status == 404 && answer.json["error_code"] as? String == "BILLING_INVOICE_NOT_FOUND", "\(path): \(answer.text)")
            }
            // The other customer sees its one invoice, and reads it.
            let other = TestJWT.customer("other")
            let theirs = try await http.get("/billing/invoices", token: other)
            #expect((theirs.json["invoices"] as? [[String: Any]])?.compactMap { $0["provider_invoice_id"] as? String } == ["in_other"])
            #expect(try await http.get("/billing/invoices/\(othersID)", token: other).status == 200)

            // A customer Strata does not know: an empty page, and nothing created.
            let stranger = try await http.get("/billing/invoices", token: TestJWT.customer("nobody"))
            #expect(stranger.status == 200 && (stranger.json["invoices"] as? [Any])?.isEmpty == true && stranger.json["next_cursor"] is NSNull,
                    "\(stranger.text)")
            let strangers: Int64 = try await db.withConnection { conn in
                try conn.queryFirst("SELECT COUNT(*) AS n FROM customers WHERE external_id = \("nobody")")?.decode("n") ?? -1
            }
            #expect(strangers == 0)

            // Paging arguments that no page returned: 400 in the one error shape.
            for query in ["limit=0", "limit=101", "limit=two", "cursor=garbage", "cursor=%2B1767225600000000_1",
                          "cursor=01767225600000000_1", "cursor=1767225600000000_0", "cursor=99999999999999999999_1"] {
                let answer = try await http.get("/billing/invoices?\(query)", token: acme)
                #expect(answer.status == 400 && answer.json["error_code"] as? String == "INVALID_REQUEST"
                        && answer.json["request_id"] as? String != nil, "\(query): \(answer.text)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func anAdminNamesACustomerAndReadsAnyInvoiceACustomerCannotAndNoTokenIs401(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            try await Self.deliverTheInvoices(http: http, db: db)
            let admin = TestJWT.admin()
            let acme = TestJWT.customer("acme")

            let acmes = try await http.get("/billing/invoices?customer=acme&limit=3", token: admin)
            #expect(acmes.status == 200, "\(acmes.text)")
            #expect((acmes.json["invoices"] as? [[String: Any]])?.count == 3 && acmes.json["next_cursor"] is String)
            let rest = try await http.get("/billing/invoices?customer=acme&limit=3&cursor=\(acmes.json["next_cursor"] as? String ?? "")",
                                          token: admin)
            #expect((rest.json["invoices"] as? [[String: Any]])?.compactMap { $0["provider_invoice_id"] as? String } == ["in_b", "in_a"],
                    "\(rest.text)")
            let others = try await http.get("/billing/invoices?customer=other", token: admin)
            #expect((others.json["invoices"] as? [[String: Any]])?.compactMap { $0["customer"] as? String } == ["other"], "\(others.text)")
            // Without `customer`, the admin's own (it has none); an unknown customer is an empty page too.
            for path in ["/billing/invoices", "/billing/invoices?customer=nobody"] {
                let answer = try await http.get(path, token: admin)
                #expect(answer.status == 200 && (answer.json["invoices"] as? [Any])?.isEmpty == true, "\(path): \(answer.text)")
            }
            let empty = try await http.get("/billing/invoices?customer=", token: admin)
            #expect(empty.status == 400 && empty.json["error_code"] as? String == "INVALID_REQUEST", "\(empty.text)")
            let nul = try await http.get("/billing/invoices?customer=ac%00me", token: admin)
            #expect(nul.status == 400 && nul.json["error_code"] as? String == "INVALID_REQUEST", "\(nul.text)")

            // Any invoice by id.
            for provider in ["in_a", "in_other"] {
                let id = try await Self.invoiceID(db, provider)
                let answer = try await http.get("/billing/invoices/\(id)", token: admin)
                #expect(answer.status == 200 && (answer.json["invoice"] as? [String: Any])?["provider_invoice_id"] as? String == provider,
                        "\(answer.text)")
            }

            // A customer may name itself, and no one else: 403 whether the other exists or not.
            let itself = try await http.get("/billing/invoices?customer=acme", token: acme)
            #expect(itself.status == 200 && (itself.json["invoices"] as? [Any])?.count == 5)
            for named in ["other", "nobody"] {
                let answer = try await http.get("/billing/invoices?customer=\(named)", token: acme)
                #expect(answer.status == 403 && answer.json["error_code"] as? String == "FORBIDDEN", "\(named): \(answer.text)")
            }

            // No token, or a token that does not verify: 401 on both routes, never an invoice.
            let id = try await Self.invoiceID(db, "in_a")
            let expired = TestJWT.make(["sub": "acme", "exp": Int(Date().timeIntervalSince1970) - 60])
            let forged = TestJWT.make(["sub": "acme"], secret: "another-secret-0123456789abcdef-0123456789")
            let unsigned = TestJWT.make(["sub": "acme", "role": "admin"], header: ["alg": "none", "typ": "JWT"])
            for path in ["/billing/invoices", "/billing/invoices?customer=acme", "/billing/invoices/\(id)"] {
                for (name, token) in [("none", nil), ("garbage", "not-a-jwt"), ("expired", expired), ("forged", forged),
                                      ("alg none", unsigned)] as [(String, String?)] {
                    let answer = try await http.get(path, token: token)
                    #expect(answer.status == 401 && answer.json["error_code"] as? String == "UNAUTHORIZED", "\(path), \(name): \(answer.text)")
                    #expect(!answer.text.contains("in_a"))
                }
            }
        }
    }

    // MARK: Helpers

    /// Invoices of two customers, delivered as signed Stripe events to
    /// `POST /billing/webhook` and recorded by the server's workers (returns once every
    /// event is processed):
    /// acme's in_a (paid, with lines), in_b (created, then finalized), in_c (paid) and
    /// in_d (a draft, created in the same second as in_c), in_e (paid, its payment
    /// delivered before its finalization, with lines); other's in_other (open).
    static func deliverTheInvoices(http: HTTPClient, db: Database) async throws {
        // The customers exist before their invoices, subscribed: a payment resolves the
        // subscription's grace period, so a paid invoice of a customer without one fails.
        try await subscribe(["acme", "other"], db: db)
        func object(_ id: String, customer: String, status: String, created: Int64, number: String?,
                    lines: [[String: Any]]? = nil) -> [String: Any] {
            let paid = status == "paid"
            var o = InvoiceTests.invoiceObject(id: id, customer: "cus_\(customer)", status: status, amountPaid: paid ? 4900 : 0,
                                               created: created, finalizedAt: status == "draft" ? nil : created + 60,
                                               paidAt: paid ? created + 180 : nil, number: number, lines: lines)
            o["metadata"] = ["customer": customer]
            return o
        }
        let events: [(String, String, Int64, [String: Any])] = [
            ("evt_a_paid", "invoice.payment_succeeded", t0 + 180,
             object("in_a", customer: "acme", status: "paid", created: t0, number: "ACME-0001", lines: InvoiceTests.lines("a_"))),
            ("evt_b_created", "invoice.created", t0 + day,
             object("in_b", customer: "acme", status: "draft", created: t0 + day, number: nil)),
            ("evt_b_finalized", "invoice.finalized", t0 + day + 60,
             object("in_b", customer: "acme", status: "open", created: t0 + day, number: "ACME-0002")),
            ("evt_c_paid", "invoice.payment_succeeded", t0 + 2 * day + 180,
             object("in_c", customer: "acme", status: "paid", created: t0 + 2 * day, number: "ACME-0003")),
            ("evt_d_created", "invoice.created", t0 + 2 * day,
             object("in_d", customer: "acme", status: "draft", created: t0 + 2 * day, number: nil)),
            ("evt_e_paid", "invoice.payment_succeeded", t0 + 4 * day + 180,
             object("in_e", customer: "acme", status: "paid", created: t0 + 4 * day, number: "ACME-0005",
                    lines: InvoiceTests.lines("e_"))),
            ("evt_e_finalized", "invoice.finalized", t0 + 4 * day + 60,
             object("in_e", customer: "acme", status: "open", created: t0 + 4 * day, number: "ACME-0005",
                    lines: InvoiceTests.lines("e_"))),
            ("evt_other", "invoice.finalized", t0 + 60,
             object("in_other", customer: "other", status: "open", created: t0, number: "OTHER-0001")),
        ]
        for (id, type, created, o) in events {
            let payload = InvoiceTests.event(id: id, type: type, created: created, object: o)
            let stored = try await http.send("POST", "/billing/webhook", body: Data(payload.utf8),
                                             headers: ["Content-Type": "application/json", "Stripe-Signature": stripeSignature(payload)])
            #expect(stored.status == 200 && stored.json["duplicate"] as? Bool == false, "\(id): \(stored.text)")
        }
        try await waitForProcessedEvents(db, count: Int64(events.count))
    }

    /// Subscribes each customer (created when new) to the seeded `starter` plan, as `strata plans subscribe` does.
    static func subscribe(_ customers: [String], db: Database) async throws {
        let subscriptions = SubscriptionService(database: db, clock: SystemClock(), logger: TestLog.logger)
        for customer in customers {
            _ = try await subscriptions.subscribe(customer: customer, planCode: "starter", context: BillingContext(actor: "admin:test"))
        }
    }

    /// Returns once `count` webhook events are processed and none is waiting (at most 30 s).
    static func waitForProcessedEvents(_ db: Database, count: Int64) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        var states: [String: Int64] = [:]
        while ContinuousClock.now < deadline {
            states = try await db.withConnection { conn in
                var states: [String: Int64] = [:]
                for row in try conn.query("SELECT state, COUNT(*) AS n FROM webhook_events GROUP BY state") {
                    states[try row.decode("state")] = try row.decode("n")
                }
                return states
            }
            if states == ["processed": count] { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        let errors: [String] = try await db.withConnection { conn in
            try conn.query("SELECT event_id, last_error FROM webhook_events WHERE state <> 'processed' ORDER BY id").map {
                "\(try $0.decode("event_id", as: String.self)): \(try $0.decode("last_error", as: String?.self) ?? "-")"
            }
        }
        throw ServeFailed(message: "the workers did not process \(count) events within 30 s: \(states), \(errors)")
    }

    /// Strata's id of a provider invoice.
    static func invoiceID(_ db: Database, _ providerInvoiceID: String) async throws -> Int64 {
        let id: Int64? = try await db.withConnection { conn in
            try conn.queryFirst("""
                SELECT id FROM invoices WHERE provider = 'stripe' AND provider_invoice_id = \(providerInvoiceID)
                """)?.decode("id")
        }
        return try #require(id, "no invoice \(providerInvoiceID)")
    }
}
