import Foundation
import StrataBilling
import StrataSQL
import Testing

/// `POST /billing/reconcile` on a real `strata serve`, on both backends: admins only,
/// strict bodies, the idempotent replay (the same key and body answer the stored run,
/// another body 422, one still running 409), and the last run's gauges on `/metrics`.
@Suite("Serve reconcile")
struct ServeReconcileTests {
    @Test(arguments: Backend.allCases)
    func adminsReconcileOnceUnderAKeyAndCustomersAreRefused(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let admin = TestJWT.admin()
            // Planted: a purchase credited by hand, with no checkout event behind it.
            let wallets = WalletService(database: db, logger: TestLog.logger)
            let planted = try await wallets.purchase(customer: "dora", packageID: "credits_1000", paymentReference: "cs_by_hand",
                                                     context: BillingContext(actor: "admin:test"))
            let body = ["since": "2020-01-01T00:00:00Z"]

            let refused = try await http.post("/billing/reconcile", token: TestJWT.customer("dora"), json: body,
                                              headers: ["Idempotency-Key": "rec-1"])
            #expect(refused.status == 403 && refused.json["error_code"] as? String == "FORBIDDEN", "\(refused.text)")
            #expect(try await http.post("/billing/reconcile", json: body).status == 401)

            let first = try await http.post("/billing/reconcile", token: admin, json: body, headers: ["Idempotency-Key": "rec-1"])
            #expect(first.status == 200 && first.header("Idempotent-Replayed") == nil, "\(first.text)")
            let found = first.json["discrepancies"] as? [[String: Any]] ?? []
            #expect(found.count == 1 && first.json["discrepancy_count"] as? Int == 1)
            #expect(found.first?["kind"] as? String == "purchase_without_event")
            #expect(found.first?["subject_id"] as? String == "\(planted.transaction.id)" && found.first?["amount"] as? Int == 1000)
            #expect(found.first?["unit"] as? String == "credits" && found.first?["is_new"] as? Bool == true)
            #expect(first.json["actor"] as? String == "admin:ops" && first.json["since"] as? String == "2020-01-01T00:00:00.000000Z")
            let runID = try #require(first.json["run_id"] as? Int)

            let again = try await http.post("/billing/reconcile", token: admin, json: body, headers: ["Idempotency-Key": "rec-1"])
            #expect(again.status == 200 && again.header("Idempotent-Replayed") == "true", "\(again.text)")
            #expect(again.json["run_id"] as? Int == runID && (again.json["discrepancies"] as? [[String: Any]])?.count == 1)
            #expect(try await InvoiceTests.count(db, "reconciliation_runs") == 1)

            let other = try await http.post("/billing/reconcile", token: admin, json: ["since": "2021-01-01T00:00:00Z"],
                                            headers: ["Idempotency-Key": "rec-1"])
            #expect(other.status == 422 && other.json["error_code"] as? String == "IDEMPOTENCY_KEY_REUSED", "\(other.text)")

            // A request whose first run still holds its key.
            let store = IdempotencyStore(database: db, logger: TestLog.logger)
            let fingerprint = IdempotencyStore.fingerprint(["operation": "reconcile", "since": "", "until": "",
                                                            "provider_file_sha256": ""])
            guard case .acquired = try await store.claim(scope: ReconciliationService.idempotencyScope, key: "rec-busy",
                                                         fingerprint: fingerprint) else {
                Issue.record("a fresh key is acquired")
                return
            }
            let busy = try await http.post("/billing/reconcile", token: admin, json: [String: Any](),
                                           headers: ["Idempotency-Key": "rec-busy"])
            #expect(busy.status == 409 && busy.json["error_code"] as? String == "IDEMPOTENCY_KEY_IN_PROGRESS", "\(busy.text)")

            // Strict bodies and times.
            let unknown = try await http.post("/billing/reconcile", token: admin, json: ["since": "2020-01-01T00:00:00Z", "from": "x"])
            #expect(unknown.status == 400 && unknown.json["error_code"] as? String == "UNKNOWN_FIELD", "\(unknown.text)")
            let badTime = try await http.post("/billing/reconcile", token: admin, json: ["until": "tomorrow"])
            #expect(badTime.status == 400 && badTime.json["error_code"] as? String == "INVALID_REQUEST", "\(badTime.text)")
            let reversed = try await http.post("/billing/reconcile", token: admin,
                                               json: ["since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"])
            #expect(reversed.status == 400 && reversed.json["error_code"] as? String == "INVALID_REQUEST", "\(reversed.text)")

            // Without a key: a second run, the same discrepancy, audited once.
            let second = try await http.post("/billing/reconcile", token: admin, json: body)
            #expect(second.status == 200 && (second.json["run_id"] as? Int ?? runID) != runID)
            #expect((second.json["discrepancies"] as? [[String: Any]])?.first?["is_new"] as? Bool == false)
            #expect(try await InvoiceTests.auditCount(db, "reconcile.discrepancy") == 1)

            // The last run's gauges.
            let scrape = PrometheusText(try await http.get("/metrics").text)
            #expect(scrape["strata_reconciliation_discrepancies"] == 1)
            #expect(scrape["strata_reconciliation_discrepancy_amount", ["unit": "credits"]] == 1000)
            #expect(scrape["strata_reconciliation_discrepancy_amount", ["unit": "minor_units"]] == 0)
            #expect(scrape["strata_reconciliation_runs_total"] == 2)

            // A run made elsewhere (the CLI, another server: here this test's own service)
            // shows at the next scrape: the gauges are read from the latest stored run.
            _ = try await wallets.purchase(customer: "dora", packageID: "credits_1000", paymentReference: "cs_by_hand_2",
                                           context: BillingContext(actor: "admin:test"))
            let elsewhere = try await ReconciliationService(database: db, logger: TestLog.logger)
                .run(since: SQLTimestamp(microsecondsSinceEpoch: 1_577_836_800_000_000), context: BillingContext(actor: "cli:test"))
            #expect(elsewhere.discrepancies.count == 2)
            let later = PrometheusText(try await http.get("/metrics").text)
            #expect(later["strata_reconciliation_discrepancies"] == 2)
            #expect(later["strata_reconciliation_discrepancy_amount", ["unit": "credits"]] == 2000)
        }
    }
}
