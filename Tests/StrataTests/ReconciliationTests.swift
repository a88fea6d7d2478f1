import Foundation
import Logging
import StrataBilling
import StrataSQL
import Testing

/// Reconciliation on both backends: a clean period reports zero; a purchase without its
/// event, an event without its purchase, a double-credited session, a repriced package,
/// a paid invoice without its payment, a tampered wallet and a stuck event are each
/// found with their kind and amount; a second run finds the same and audits nothing
/// new; the provider's CSV matched against the stored events; `strata reconcile`.
@Suite("Reconciliation")
struct ReconciliationTests {
    static let admin = BillingContext(actor: "admin:test")

    // MARK: Clean

    @Test(arguments: Backend.allCases)
    func aCleanPeriodReportsZero(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            try await Self.setUp(db, clock)
            let (inbox, worker, _) = InvoiceTests.pipeline(db, clock)
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_ok", session: "cs_ok", customer: "acme", package: "pkg_100"))
            for name in ["created", "finalized", "succeeded"] {
                try await Self.process(inbox, worker, clock, InvoiceTests.lifecycle(invoice: "in_ok", customer: "cus_ACME")[name]!.1)
            }
            let service = ReconciliationService(database: db, clock: clock, logger: TestLog.logger)
            // The invoice was paid at t0 + 180.
            let report = try await service.run(until: clock.now().adding(seconds: 3_600), context: Self.admin)
            #expect(report.isClean, "\(report.discrepancies)")
            #expect(report.counts.checkoutEvents == 1 && report.counts.purchases == 1 && report.counts.invoices == 1)
            #expect(report.counts.wallets == 1 && report.counts.providerRows == 0)
            #expect(report.discrepancyCredits == 0 && report.discrepancyMinorUnits == 0)
            #expect(try await InvoiceTests.auditCount(db, "reconcile.discrepancy") == 0)
            #expect(try await InvoiceTests.count(db, "reconciliation_runs WHERE discrepancy_count = 0") == 1)

            // A period before anything happened checks nothing of the period's subjects.
            let before = try await service.run(since: clock.now().adding(seconds: -86_400),
                                               until: clock.now().adding(seconds: -3_600), context: Self.admin)
            #expect(before.isClean && before.counts.checkoutEvents == 0 && before.counts.purchases == 0 && before.counts.invoices == 0)

            await #expect(throws: ReconciliationError.self) {
                _ = try await service.run(since: clock.now(), until: clock.now(), context: Self.admin)
            }
        }
    }

    // MARK: Each kind, found once

    @Test(arguments: Backend.allCases)
    func eachDiscrepancyIsFoundWithItsKindAndAmountAndAuditedOnce(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            try await Self.setUp(db, clock)
            let (inbox, worker, _) = InvoiceTests.pipeline(db, clock)
            var ignoring = WebhookHandlerRegistry()
            ignoring.ignore("checkout.session.completed")
            let careless = RetryWorker(id: "careless", database: db, registry: ignoring, clock: clock,
                                       logger: TestLog.logger, random: { 0.5 })

            // Control: paid and credited once.
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_ok", session: "cs_ok", customer: "acme", package: "pkg_100"))
            // An event without its purchase: a worker that ignored it.
            try await Self.process(inbox, careless, clock, Self.checkout(id: "evt_lost", session: "cs_lost", customer: "acme", package: "pkg_100"))
            // A session credited twice: its two events name two customers.
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_double_1", session: "cs_double", customer: "acme", package: "pkg_100"))
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_double_2", session: "cs_double", customer: "carol",
                                                                       package: "pkg_100", type: "checkout.session.async_payment_succeeded"))
            // Credited 250, then the package was repriced to 300.
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_repriced", session: "cs_repriced", customer: "acme", package: "pkg_250"))
            // A purchase without its event: credited by hand.
            let wallets = WalletService(database: db, clock: clock, logger: TestLog.logger)
            let byHand = try await wallets.purchase(customer: "bob", packageID: "pkg_250", paymentReference: "cs_by_hand", context: Self.admin)
            // A paid invoice whose payment never came: finalized already paid, no payment_succeeded.
            let paidInvoice = InvoiceTests.event(
                id: "evt_nopay", type: "invoice.finalized", created: InvoiceTests.t0 + 1,
                object: InvoiceTests.invoiceObject(id: "in_nopay", customer: "cus_ACME", status: "paid", amountPaid: 4900,
                                                   created: InvoiceTests.t0, finalizedAt: InvoiceTests.t0 + 1, paidAt: InvoiceTests.t0 + 1))
            try await Self.process(inbox, worker, clock, paidInvoice)
            // A stuck event, a tampered balance.
            _ = try await InvoiceTests.deliver(inbox, InvoiceTests.event(id: "evt_stuck", type: "customer.updated",
                                                                         created: InvoiceTests.t0, object: ["id": "cus_ACME"]))
            let now = clock.now()
            try await db.withConnection { conn in
                try conn.execute("UPDATE credit_packages SET credits = 300 WHERE package_id = 'pkg_250'")
                try conn.execute("""
                    UPDATE webhook_events SET state = 'processing', lease_owner = 'gone', lease_expires_at = \(now.adding(seconds: -60)),
                        next_attempt_at = NULL WHERE event_id = 'evt_stuck'
                    """)
                try conn.execute("""
                    UPDATE credit_wallets SET balance = balance + 5
                    WHERE customer_id = (SELECT id FROM customers WHERE external_id = 'bob')
                    """)
            }

            let service = ReconciliationService(database: db, clock: clock, logger: TestLog.logger)
            let until = clock.now().adding(seconds: 1)
            let first = try await service.run(until: until, context: Self.admin)
            let expected = [
                "duplicate_purchase checkout_session cs_double 100 credits -",
                "ledger_inconsistent wallet bob 5 credits -",
                "missing_purchase checkout_session cs_lost 100 credits -",
                "paid_invoice_without_payment invoice stripe:in_nopay 4900 minor_units EUR",
                "purchase_without_event credit_transaction \(byHand.transaction.id) 250 credits -",
                "stuck_webhook webhook_event stripe:evt_stuck 0 none -",
                "wrong_credits checkout_session cs_repriced -50 credits -",
            ]
            #expect(first.discrepancies.map(Self.line) == expected)
            #expect(first.discrepancies.allSatisfy { $0.isNew })
            #expect(first.counts.checkoutEvents == 4 && first.counts.purchases == 5 && first.counts.invoices == 1)
            #expect(first.counts.wallets == 3)
            #expect(first.discrepancyCredits == 100 + 5 + 100 + 250 + 50 && first.discrepancyMinorUnits == 4900)
            #expect(first.discrepancies.first { $0.kind == .duplicatePurchase }?.details["customers"] == "acme,carol")
            #expect(try await InvoiceTests.auditCount(db, "reconcile.discrepancy") == 7)
            let audited = try await AuditLog.query(db, subjectType: "checkout_session", subjectID: "cs_lost")
            #expect(audited.count == 1 && audited.first?.action == "reconcile.discrepancy" && audited.first?.actor == "admin:test")
            #expect(audited.first?.details.contains("\"missing_purchase\"") == true)

            // Again over the same period: the same discrepancies, nothing audited again.
            clock.advance(seconds: 1)
            let second = try await service.run(until: until, context: Self.admin)
            #expect(second.runID != first.runID)
            #expect(second.discrepancies.map(Self.line) == expected)
            #expect(second.discrepancies.allSatisfy { !$0.isNew })
            #expect(second.counts == first.counts)
            #expect(try await InvoiceTests.auditCount(db, "reconcile.discrepancy") == 7)
            #expect(try await InvoiceTests.count(db, "reconciliation_runs") == 2)
            #expect(try await InvoiceTests.count(db, "reconciliation_discrepancies") == 7)
            #expect(try await InvoiceTests.count(db, "reconciliation_findings") == 14)
            #expect(try await InvoiceTests.count(db, "reconciliation_runs WHERE new_discrepancy_count = 7") == 1)
        }
    }

    // MARK: The provider's side

    @Test(arguments: Backend.allCases)
    func theProviderFileIsMatchedAgainstTheStoredEvents(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            try await Self.setUp(db, clock)
            let (inbox, worker, _) = InvoiceTests.pipeline(db, clock)
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_a", session: "cs_a", customer: "acme", package: "pkg_100",
                                                                       paymentIntent: "pi_a", amount: 1900))
            try await Self.process(inbox, worker, clock, Self.checkout(id: "evt_b", session: "cs_b", customer: "acme", package: "pkg_100",
                                                                       paymentIntent: "pi_b", amount: 2900))
            for name in ["created", "finalized", "succeeded"] {
                try await Self.process(inbox, worker, clock, InvoiceTests.lifecycle(invoice: "in_1", customer: "cus_ACME")[name]!.1)
            }
            let csv = """
                id,customer,amount,currency,created
                pi_a,cus_ACME,1900,eur,2026-01-01T00:00:30Z
                "in_1",cus_ACME,4800,EUR,1767225700
                py_unknown,"cus_X, Ltd",500,usd,2026-01-01 00:01:00
                py_old,cus_X,700,usd,2020-01-01T00:00:00Z

                """
            let file = try ProviderPaymentsFile(path: "payments.csv", data: Data(csv.utf8))
            #expect(file.payments.count == 4 && file.payments[2].customer == "cus_X, Ltd" && file.payments[2].line == 4)
            let service = ReconciliationService(database: db, clock: clock, logger: TestLog.logger)
            let report = try await service.run(since: clock.now().adding(seconds: -3_600), until: clock.now().adding(seconds: 3_600),
                                               providerFile: file, context: Self.admin)
            #expect(report.discrepancies.map(Self.line) == [
                "amount_mismatch provider_payment in_1 -100 minor_units EUR",
                "provider_payment_missing provider_payment py_unknown 500 minor_units USD",
                "stored_payment_not_at_provider provider_payment cs_b 2900 minor_units EUR",
            ])
            #expect(report.counts.providerRows == 3 && report.providerFileSHA256 == file.sha256)
            #expect(try await InvoiceTests.count(db, "reconciliation_runs WHERE provider_rows_checked = 3") == 1)
        }
    }

    @Test func aMalformedProviderFileNamesItsFileAndLine() throws {
        let cases: [(String, String)] = [
            ("", "bad.csv:1: is empty: the header id,customer,amount,currency,created is missing"),
            ("id,customer,amount,created\n", "bad.csv:1: the header has no 'currency' column (it needs id,customer,amount,currency,created)"),
            ("id,customer,amount,currency,created\npi_1,c,19.00,eur,2026-01-01T00:00:00Z\n",
             "bad.csv:2: amount '19.00' is not an integer number of minor units"),
            ("id,customer,amount,currency,created\npi_1,c,1900,eur,2026-01-01T00:00:00Z\npi_2,c,1,euro,2026-01-01T00:00:00Z\n",
             "bad.csv:3: currency 'euro' is not a three-letter code"),
            ("id,customer,amount,currency,created\npi_1,\"c,1900,eur,2026-01-01T00:00:00Z\n", "bad.csv:2: has a quote that is never closed"),
            ("id,customer,amount,currency,created\npi_1,c,1900,eur\n", "bad.csv:2: has 4 fields where the header has 5"),
            ("id,customer,amount,currency,created\npi_1,c,1900,eur,yesterday\n",
             "bad.csv:2: created 'yesterday' is not an ISO 8601 time or Unix seconds"),
            ("id,customer,amount,currency,created\npi_1,c,1,eur,0\npi_1,c,2,eur,0\n", "bad.csv:3: repeats the id 'pi_1' of line 2"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: ReconciliationError.self) {
                _ = try ProviderPaymentsFile(path: "bad.csv", data: Data(text.utf8))
            }
            #expect(error?.description == message)
        }
    }

    // MARK: The CLI

    @Test(arguments: Backend.allCases)
    func cliExitsZeroWhenCleanAndTenWithDiscrepancies(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, url in
            let clock = ManualClock(SQLTimestamp(Date()).adding(seconds: -60))
            try await Self.setUp(db, clock)
            let env = ["DATABASE_URL": url.urlString]
            var r = try await StrataCLI.run(["reconcile"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("clean: no discrepancies"), "\(r.stdout)")

            let wallets = WalletService(database: db, clock: clock, logger: TestLog.logger)
            _ = try await wallets.purchase(customer: "bob", packageID: "pkg_100", paymentReference: "cs_manual", context: Self.admin)
            r = try await StrataCLI.run(["reconcile", "--json"], environment: env)
            #expect(r.status == 10, "\(r.stderr)")
            let run = r.json?["run"] as? [String: Any]
            let found = run?["discrepancies"] as? [[String: Any]] ?? []
            #expect(r.json?["clean"] as? Bool == false && found.count == 1)
            #expect(found.first?["kind"] as? String == "purchase_without_event" && found.first?["amount"] as? Int == 100)
            #expect(found.first?["is_new"] as? Bool == true)

            r = try await StrataCLI.run(["reconcile"], environment: env)
            #expect(r.status == 10)
            #expect(r.stdout.contains("1 discrepancies (0 new)") && r.stdout.contains("purchase_without_event  credit_transaction"),
                    "\(r.stdout)")
            #expect(try await InvoiceTests.auditCount(db, "reconcile.discrepancy") == 1)

            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("reconcile"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let bad = dir.appendingPathComponent("payments.csv")
            try Data("id,customer,amount,currency,created\npy_1,c,12.50,eur,0\n".utf8).write(to: bad)
            r = try await StrataCLI.run(["reconcile", "--provider-csv", bad.path], environment: env)
            #expect(r.status == 64)
            #expect(r.stderr.trimmingCharacters(in: .newlines) == "strata: error: \(bad.path):2: amount '12.50' is not an integer number of minor units",
                    "\(r.stderr)")
            r = try await StrataCLI.run(["reconcile", "--since", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z"], environment: env)
            #expect(r.status == 64 && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }

    // MARK: Helpers

    /// Two credit packages (100 and 250 credits) and the customer acme (`cus_ACME`) with a subscription.
    static func setUp(_ db: Database, _ clock: ManualClock) async throws {
        let now = clock.now()
        try await db.withConnection { conn in
            for (id, credits) in [("pkg_100", Int64(100)), ("pkg_250", Int64(250))] {
                try conn.execute("""
                    INSERT INTO credit_packages (package_id, name, credits, price_minor, currency, provider_price_id,
                        active, created_at, updated_at)
                    VALUES (\(id), \(id), \(credits), \(credits * 10), 'EUR', \("price_" + id), \(true), \(now), \(now))
                    """)
            }
        }
        try await InvoiceTests.subscribedCustomer(db, clock, external: "acme", provider: "cus_ACME")
    }

    /// A checkout event of a paid session.
    static func checkout(id: String, session: String, customer: String, package: String,
                         type: String = "checkout.session.completed", paymentIntent: String? = nil, amount: Int = 1000) -> String {
        var object: [String: Any] = ["id": session, "object": "checkout.session", "payment_status": "paid",
                                     "amount_total": amount, "currency": "eur",
                                     "metadata": ["customer": customer, "package_id": package]]
        if let paymentIntent { object["payment_intent"] = paymentIntent }
        return InvoiceTests.event(id: id, type: type, created: InvoiceTests.t0, object: object)
    }

    /// Delivers an event and has the worker process it.
    static func process(_ inbox: WebhookInbox, _ worker: RetryWorker, _ clock: ManualClock, _ body: String,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        clock.advance(seconds: 1)
        let id = try await InvoiceTests.deliver(inbox, body)
        let summary = try await worker.runDue(limit: 1)
        #expect(summary.results[id] == .processed, "\(summary.results)", sourceLocation: sourceLocation)
    }

    static func line(_ d: ReconciliationDiscrepancy) -> String {
        "\(d.kind.rawValue) \(d.subjectType) \(d.subjectID) \(d.amount) \(d.unit.rawValue) \(d.currency ?? "-")"
    }
}
