import Foundation
import StrataBilling
import StrataSeeds
import StrataSQL
import Testing

/// `strata serve` over real HTTP: the built binary on a free port, against a fresh
/// migrated and seeded database, on both backends. Every test ends with SIGTERM and
/// expects the process to drain and exit 0.
///
/// Serialized: each test starts servers and fires hundreds of requests; run all at once
/// they would starve the suites that measure how fast a signal or a cancel lands
/// (`InterruptedMigrationTests`) on a 2-core machine.
@Suite("strata serve", .serialized)
struct ServeTests {
    static let reviewerCost: Int64 = 40   // code_reviewer in seeds/agent_costs.csv

    // MARK: The runbook

    @Test(arguments: Backend.allCases)
    func runbookChecks(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, server in
            let health = try await http.get("/health")
            #expect(health.status == 200 && health.json["status"] as? String == "ok")
            let ready = try await http.get("/ready")
            #expect(ready.status == 200 && ready.json["status"] as? String == "ready", "\(ready.text)")

            let costs = try await http.get("/billing/agent-costs")
            let agents = costs.json["agent_costs"] as? [[String: Any]] ?? []
            #expect(costs.status == 200 && agents.count == 22)
            #expect(agents.contains { $0["agent"] as? String == "code_reviewer" && $0["credits_per_run"] as? Int == 40 })
            let packages = try await http.get("/billing/packages")
            #expect((packages.json["packages"] as? [[String: Any]])?.contains { $0["package_id"] as? String == "credits_1000" } == true)
            let plans = try await http.get("/billing/plans")
            let planList = plans.json["plans"] as? [[String: Any]] ?? []
            #expect(!planList.isEmpty && planList.allSatisfy { $0["features"] is [String: Any] })

            let alice = TestJWT.customer("alice")
            let wallet = try await http.get("/billing/wallet", token: alice)
            #expect(wallet.status == 200)
            #expect(wallet.json["balance_credits"] as? Int == 0 && (wallet.json["transactions"] as? [Any])?.isEmpty == true)
            #expect(wallet.json.keys.contains("next_cursor") && wallet.json["next_cursor"] is NSNull)

            let refused = try await http.post("/billing/charges", token: alice, json: ["agent": "code_reviewer", "run_id": "run-1"])
            #expect(refused.status == 402)
            #expect(refused.json["error_code"] as? String == "BILLING_INSUFFICIENT_CREDITS")
            #expect(refused.json["balance"] as? Int == 0 && refused.json["required"] as? Int == 40)
            #expect(refused.json["request_id"] as? String == refused.header("X-Request-Id"))

            let grant = try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                            json: ["customer": "alice", "credits": 1000, "reason": "runbook"],
                                            headers: ["X-Request-Id": "runbook-grant-1"])
            #expect(grant.status == 200)
            #expect(grant.json["success"] as? Bool == true && grant.json["new_balance"] as? Int == 1000, "\(grant.text)")
            #expect(grant.header("X-Request-Id") == "runbook-grant-1")
            let audit: (actor: String, requestID: String?)? = try await db.withConnection { conn in
                try conn.queryFirst("SELECT actor, request_id FROM billing_audit WHERE action = 'wallet.grant'")
                    .map { (try $0.decode("actor"), try $0.decode("request_id")) }
            }
            #expect(audit?.actor == "admin:ops" && audit?.requestID == "runbook-grant-1")
            let auditLog = try await http.get("/billing/admin/audit?subject_type=wallet&subject=alice", token: TestJWT.admin())
            let entries = auditLog.json["entries"] as? [[String: Any]] ?? []
            #expect(entries.count == 1 && entries.first?["action"] as? String == "wallet.grant"
                    && entries.first?["request_id"] as? String == "runbook-grant-1"
                    && (entries.first?["details"] as? [String: Any])?["amount"] as? Int == 1000, "\(auditLog.text)")
            #expect(try await http.get("/billing/admin/audit", token: alice).status == 403)

            // A charge, then the same run again: the first receipt, never a second charge.
            let charged = try await http.post("/billing/charges", token: alice, json: ["agent": "code_reviewer", "run_id": "run-1"])
            #expect(charged.status == 201 && charged.json["replay"] as? Bool == false, "\(charged.text)")
            #expect(charged.json["balance_credits"] as? Int == 960)
            let receipt = charged.json["transaction"] as? [String: Any] ?? [:]
            #expect(receipt["amount"] as? Int == -40 && receipt["agent"] as? String == "code_reviewer")
            #expect((receipt["created_at"] as? String)?.hasSuffix("Z") == true)
            let again = try await http.post("/billing/charges", token: alice, json: ["agent": "code_reviewer", "run_id": "run-1"])
            #expect(again.status == 200 && again.json["replay"] as? Bool == true)
            #expect((again.json["transaction"] as? [String: Any])?["id"] as? Int == receipt["id"] as? Int)

            let unknown = try await http.post("/billing/charges", token: alice, json: ["agent": "no_such_agent", "run_id": "run-2"])
            #expect(unknown.status == 404 && unknown.json["error_code"] as? String == "BILLING_AGENT_NOT_FOUND")
            try await db.withConnection { try $0.execute("UPDATE agent_costs SET active = \(false) WHERE agent_key = 'sql_optimizer'") }
            let inactive = try await http.post("/billing/charges", token: alice, json: ["agent": "sql_optimizer", "run_id": "run-3"])
            #expect(inactive.status == 404 && inactive.json["error_code"] as? String == "BILLING_AGENT_INACTIVE")

            // Newest first, one row a page, the cursor walking back to the grant.
            let page1 = try await http.get("/billing/wallet?limit=1", token: alice)
            #expect(page1.json["balance_credits"] as? Int == 960)
            let rows1 = page1.json["transactions"] as? [[String: Any]] ?? []
            #expect(rows1.count == 1 && rows1.first?["kind"] as? String == "charge")
            let cursor = try #require(page1.json["next_cursor"] as? String)
            let page2 = try await http.get("/billing/wallet?limit=1&cursor=\(cursor)", token: alice)
            let rows2 = page2.json["transactions"] as? [[String: Any]] ?? []
            #expect(rows2.count == 1 && rows2.first?["kind"] as? String == "grant" && page2.json["next_cursor"] is NSNull)
            #expect(try await http.get("/billing/wallet?limit=0", token: alice).status == 400)
            #expect(try await http.get("/billing/wallet?cursor=abc", token: alice).status == 400)

            // Another customer sees only their own wallet.
            let bob = try await http.get("/billing/wallet", token: TestJWT.customer("bob"))
            #expect(bob.json["balance_credits"] as? Int == 0 && bob.json["customer"] as? String == "bob")
            _ = server
        }
    }

    // MARK: Auth

    @Test(arguments: Backend.allCases)
    func everyBadTokenIs401AndACustomerOnAnAdminRouteIs403(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, server in
            let now = Int(Date().timeIntervalSince1970)
            let wrongAlgorithm = TestJWT.make(["sub": "alice"], header: ["alg": "HS512", "typ": "JWT"], digest: "HS512")
            let unsigned = TestJWT.segment(["alg": "none", "typ": "JWT"]) + "." + TestJWT.segment(["sub": "alice", "exp": now + 3600]) + "."
            let noneSigned = TestJWT.make(["sub": "alice"], header: ["alg": "none"])
            let tokens: [(String, String?)] = [
                ("missing", nil),
                ("malformed", "not-a-jwt"),
                ("two segments", "abc.def"),
                ("expired", TestJWT.make(["sub": "alice", "exp": now - 60])),
                ("not yet valid", TestJWT.make(["sub": "alice", "nbf": now + 600])),
                ("wrong secret", TestJWT.make(["sub": "alice"], secret: "another-secret-0123456789abcdef-01234")),
                ("alg none", unsigned),
                ("alg none with a signature", noneSigned),
                ("HS512", wrongAlgorithm),
                ("no exp", TestJWT.segment(["alg": "HS256"]) + "." + TestJWT.segment(["sub": "alice"]) + "."
                    + TestJWT.make(["sub": "alice"]).split(separator: ".")[2]),
                ("empty sub", TestJWT.make(["sub": ""])),
                ("tampered", String(TestJWT.customer("alice").dropLast(2)) + "xx"),
            ]
            for (name, token) in tokens {
                var headers: [String: String] = [:]
                if let token { headers["Authorization"] = "Bearer \(token)" }
                let wallet = try await http.get("/billing/wallet", headers: headers)
                #expect(wallet.status == 401, "\(name): \(wallet.status) \(wallet.text)")
                #expect(wallet.json["error_code"] as? String == "UNAUTHORIZED", "\(name)")
                #expect(!(wallet.json["request_id"] as? String ?? "").isEmpty, "\(name)")
                let charge = try await http.post("/billing/charges", json: ["agent": "code_reviewer", "run_id": "r"], headers: headers)
                #expect(charge.status == 401, "\(name)")
                let grant = try await http.post("/billing/admin/grant", json: ["customer": "alice", "credits": 5, "reason": "x"],
                                                headers: headers)
                #expect(grant.status == 401, "\(name)")
            }
            let basic = try await http.get("/billing/wallet", headers: ["Authorization": "Basic YWxpY2U6cHc="])
            #expect(basic.status == 401)
            let customerOnAdmin = try await http.post("/billing/admin/grant", token: TestJWT.customer("alice"),
                                                      json: ["customer": "alice", "credits": 5, "reason": "self-service"])
            #expect(customerOnAdmin.status == 403 && customerOnAdmin.json["error_code"] as? String == "FORBIDDEN")
            // The roles array opens the admin routes too.
            let viaRoles = try await http.post("/billing/admin/grant", token: TestJWT.make(["sub": "ops", "roles": ["billing", "admin"]]),
                                               json: ["customer": "carol", "credits": 5, "reason": "roles array"])
            #expect(viaRoles.status == 200 && viaRoles.json["new_balance"] as? Int == 5)
            // Nothing the refused requests asked for happened.
            let rows: Int64 = try await db.withConnection { try $0.queryFirst("SELECT COUNT(*) AS n FROM credit_transactions")!.decode("n") }
            #expect(rows == 1)
            // No token reaches the log, accepted or refused (the server logs every request at info).
            let logged = server.stderrLines.joined(separator: "\n")
            #expect(logged.contains("request_id="), "the request lines are missing: the check below would prove nothing")
            for (name, token) in tokens {
                if let token, token.count > 20 { #expect(!logged.contains(token), "\(name)") }
            }
            #expect(!logged.contains(TestJWT.admin().split(separator: ".")[0] + ".") && !logged.contains("Bearer"))
        }
    }

    /// The server keeps tokens it verified (`VerifiedTokens`); a kept one must still expire
    /// on time, and the reason must be the one an unkept expired token gets.
    @Test(arguments: Backend.allCases)
    func aTokenAcceptedBeforeItExpiredIsRefusedOnceItHas(_ backend: Backend) async throws {
        try await withServer(backend) { http, _, _ in
            let expiry = Int(Date().timeIntervalSince1970) + 2
            let token = TestJWT.make(["sub": "dora", "exp": expiry])
            for _ in 0..<3 {
                let wallet = try await http.get("/billing/wallet", token: token)
                #expect(wallet.status == 200, "\(wallet.text)")
            }
            // jwt-kit's exp has whole seconds and refuses a token once the time is past it.
            while Date().timeIntervalSince1970 < Double(expiry) + 1.2 { try await Task.sleep(for: .milliseconds(100)) }
            let late = try await http.get("/billing/wallet", token: token)
            #expect(late.status == 401, "\(late.text)")
            #expect(late.json["message"] as? String == "the token has expired", "\(late.text)")
        }
    }

    // MARK: Errors and limits

    @Test(arguments: Backend.allCases)
    func malformedOversizedAndMistypedBodiesAreRefusedInTheOneErrorShape(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let alice = TestJWT.customer("alice")
            func expectError(_ r: HTTPResult, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
                #expect(r.json["error_code"] as? String == code, "\(r.text)", sourceLocation: sourceLocation)
                #expect(r.json["message"] is String && r.json["request_id"] as? String == r.header("X-Request-Id"),
                        sourceLocation: sourceLocation)
                #expect(r.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
            }
            let json = ["Content-Type": "application/json"]
            expectError(try await http.send("POST", "/billing/charges", token: alice, body: Data("{\"agent\": ".utf8), headers: json),
                        400, "INVALID_JSON")
            expectError(try await http.send("POST", "/billing/charges", token: alice, body: Data("[1, 2]".utf8), headers: json),
                        400, "INVALID_JSON")
            expectError(try await http.post("/billing/charges", token: alice,
                                            json: ["agent": "code_reviewer", "run_id": "r1", "customer": "bob"]),
                        400, "UNKNOWN_FIELD")
            expectError(try await http.post("/billing/charges", token: alice, json: ["agent": "code_reviewer"]), 400, "INVALID_REQUEST")
            expectError(try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                            json: ["customer": "alice", "credits": "1000", "reason": "x"]), 400, "INVALID_REQUEST")
            expectError(try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                            json: ["customer": "alice", "credits": 1.5, "reason": "x"]), 400, "INVALID_REQUEST")
            expectError(try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                            json: ["customer": "alice", "credits": -5, "reason": "x"]), 400, "INVALID_REQUEST")
            expectError(try await http.send("POST", "/billing/charges", token: alice,
                                            body: Data("agent=code_reviewer&run_id=r1".utf8),
                                            headers: ["Content-Type": "application/x-www-form-urlencoded"]),
                        415, "UNSUPPORTED_MEDIA_TYPE")
            let big = try JSONSerialization.data(withJSONObject: ["agent": "code_reviewer", "run_id": String(repeating: "x", count: 70_000)])
            expectError(try await http.send("POST", "/billing/charges", token: alice, body: big, headers: json), 413, "PAYLOAD_TOO_LARGE")
            expectError(try await http.get("/no/such/route"), 404, "NOT_FOUND")
            // A request id with unsafe characters is replaced, never echoed.
            let odd = try await http.get("/health", headers: ["X-Request-Id": "evil id\"<script>"])
            #expect(odd.header("X-Request-Id")?.hasPrefix("req-") == true)
            let rows: Int64 = try await db.withConnection { try $0.queryFirst("SELECT COUNT(*) AS n FROM credit_transactions")!.decode("n") }
            #expect(rows == 0)
        }
    }

    // MARK: Idempotency keys

    @Test(arguments: Backend.allCases)
    func idempotencyKeysReplayRefuseAnotherBodyAndWaitForARunningFirst(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let admin = TestJWT.admin()
            let grantBody: [String: Any] = ["customer": "dana", "credits": 500, "reason": "idempotent grant"]
            let first = try await http.post("/billing/admin/grant", token: admin, json: grantBody, headers: ["Idempotency-Key": "grant-1"])
            #expect(first.status == 200 && first.json["new_balance"] as? Int == 500 && first.header("Idempotent-Replayed") == nil)
            let again = try await http.post("/billing/admin/grant", token: admin, json: grantBody, headers: ["Idempotency-Key": "grant-1"])
            #expect(again.status == 200 && again.json["new_balance"] as? Int == 500 && again.header("Idempotent-Replayed") == "true")
            #expect(again.json["transaction_id"] as? Int == first.json["transaction_id"] as? Int)
            let other = try await http.post("/billing/admin/grant", token: admin, json: ["customer": "dana", "credits": 501, "reason": "idempotent grant"],
                                            headers: ["Idempotency-Key": "grant-1"])
            #expect(other.status == 422 && other.json["error_code"] as? String == "IDEMPOTENCY_KEY_REUSED", "\(other.text)")

            let dana = TestJWT.customer("dana")
            let charge: [String: Any] = ["agent": "code_reviewer", "run_id": "idem-run-1"]
            let charged = try await http.post("/billing/charges", token: dana, json: charge, headers: ["Idempotency-Key": "charge-1"])
            #expect(charged.status == 201 && charged.json["replay"] as? Bool == false)
            let replayed = try await http.post("/billing/charges", token: dana, json: charge, headers: ["Idempotency-Key": "charge-1"])
            #expect(replayed.status == 201 && replayed.json["replay"] as? Bool == false && replayed.header("Idempotent-Replayed") == "true")
            #expect(replayed.text == charged.text)
            let reused = try await http.post("/billing/charges", token: dana, json: ["agent": "code_reviewer", "run_id": "idem-run-2"],
                                             headers: ["Idempotency-Key": "charge-1"])
            #expect(reused.status == 422)
            // A run charged before, asked again under a new key: the run's replay, not the key's.
            let runReplay = try await http.post("/billing/charges", token: dana, json: charge, headers: ["Idempotency-Key": "charge-2"])
            #expect(runReplay.status == 200 && runReplay.json["replay"] as? Bool == true && runReplay.header("Idempotent-Replayed") == nil)

            // A first request still running under the key (claimed here, never completed).
            let busy = ["agent_key": "code_reviewer", "run_id": "idem-run-3", "operation": "charge", "customer": "dana"]
            _ = try await IdempotencyStore(database: db, logger: TestLog.logger)
                .claim(scope: WalletService.idempotencyScope(customer: "dana"), key: "charge-busy",
                       fingerprint: IdempotencyStore.fingerprint(busy))
            let running = try await http.post("/billing/charges", token: dana, json: ["agent": "code_reviewer", "run_id": "idem-run-3"],
                                              headers: ["Idempotency-Key": "charge-busy"])
            #expect(running.status == 409 && running.json["error_code"] as? String == "IDEMPOTENCY_KEY_IN_PROGRESS", "\(running.text)")
            let badKey = try await http.post("/billing/charges", token: dana, json: charge, headers: ["Idempotency-Key": String(repeating: "k", count: 192)])
            #expect(badKey.status == 400 && badKey.json["error_code"] as? String == "INVALID_IDEMPOTENCY_KEY")
            let wallets = WalletService(database: db, logger: TestLog.logger)
            #expect(try await wallets.balance(customer: "dana") == 460)
            #expect(try await wallets.verifyLedger(customer: "dana").isConsistent)
        }
    }

    // MARK: Webhooks

    @Test(arguments: Backend.allCases)
    func aSignedCheckoutCreditsOnceAlsoWhenDeliveredTwentyTimesAtOnce(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let event = """
                {"id":"evt_serve_1","type":"checkout.session.completed","data":{"object":{"id":"cs_test_serve_1",\
                "payment_status":"paid","metadata":{"customer":"buyer","package_id":"credits_1000"}}}}
                """
            // Refused deliveries first: nothing may be stored.
            let stale = stripeSignature(event, at: Int(Date().timeIntervalSince1970) - 600)
            let wrong = stripeSignature(event, secret: "whsec_another")
            for (name, header) in [("stale", stale), ("wrong secret", wrong), ("garbage", "t=abc,v1=zz"), ("missing", "")] {
                var headers = ["Content-Type": "application/json; charset=utf-8"]
                if !header.isEmpty { headers["Stripe-Signature"] = header }
                let r = try await http.send("POST", "/billing/webhook", body: Data(event.utf8), headers: headers)
                #expect(r.status == 400 && r.json["error_code"] as? String == "WEBHOOK_SIGNATURE_INVALID", "\(name): \(r.text)")
            }
            let notAnEvent = "{\"hello\": 1}"
            let malformed = try await http.send("POST", "/billing/webhook", body: Data(notAnEvent.utf8),
                                                headers: ["Content-Type": "application/json", "Stripe-Signature": stripeSignature(notAnEvent)])
            #expect(malformed.status == 400 && malformed.json["error_code"] as? String == "WEBHOOK_PAYLOAD_INVALID")
            #expect(try await count(db, "webhook_events") == 0)

            // Stripe rotating its secret: an old v1 beside the right one.
            let good = stripeSignature(event)
            let rotated = good.replacingOccurrences(of: "v1=", with: "v1=\(String(repeating: "0", count: 64)),v1=")
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await http.send("POST", "/billing/webhook", body: Data(event.utf8),
                                            headers: ["Content-Type": "application/json; charset=utf-8", "Stripe-Signature": rotated])
                    }
                }
                return try await group.reduce(into: [HTTPResult]()) { $0.append($1) }
            }
            #expect(results.allSatisfy { $0.status == 200 }, "\(results.map(\.text))")
            #expect(results.filter { $0.json["duplicate"] as? Bool == false }.count == 1)
            #expect(try await count(db, "webhook_events") == 1)

            // The workers credit it, once.
            let buyer = TestJWT.customer("buyer")
            var balance = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                balance = try await http.get("/billing/wallet", token: buyer).json["balance_credits"] as? Int ?? 0
                if balance != 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(balance == 1000)
            try await Task.sleep(for: .milliseconds(1500))
            let wallet = try await http.get("/billing/wallet", token: buyer)
            #expect(wallet.json["balance_credits"] as? Int == 1000)
            #expect((wallet.json["transactions"] as? [[String: Any]])?.count == 1)
            let state: String? = try await db.withConnection { try $0.queryFirst("SELECT state FROM webhook_events")?.decode("state") }
            #expect(state == "processed")
            let purchases = try await http.get("/billing/history?kind=purchase", token: buyer)
            let rows = purchases.json["transactions"] as? [[String: Any]] ?? []
            #expect(rows.count == 1 && rows.first?["external_reference"] as? String == "cs_test_serve_1" && purchases.json["next_cursor"] is NSNull)
            #expect((try await http.get("/billing/history?kind=charge", token: buyer).json["transactions"] as? [Any])?.isEmpty == true)
            #expect(try await http.get("/billing/history?kind=bogus", token: buyer).status == 400)
            // A history read creates nothing.
            let stranger = try await http.get("/billing/history", token: TestJWT.customer("nobody"))
            #expect(stranger.status == 200 && (stranger.json["transactions"] as? [Any])?.isEmpty == true)
            #expect(try await WalletService(database: db, logger: TestLog.logger).wallet(customer: "nobody") == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailingEventGoesDeadAndAnAdminReplayProcessesItThenRefundsAndVerifies(_ backend: Backend) async throws {
        try await withServer(backend, arguments: ["--webhook-retry-schedule", "0,0,0,0,0"]) { http, db, _ in
            let admin = TestJWT.admin()
            let event = """
                {"id":"evt_serve_dead","type":"checkout.session.completed","data":{"object":{"id":"cs_test_dead",\
                "payment_status":"paid","metadata":{"customer":"frank","package_id":"credits_late"}}}}
                """
            let delivered = try await http.send("POST", "/billing/webhook", body: Data(event.utf8),
                                                headers: ["Content-Type": "application/json", "Stripe-Signature": stripeSignature(event)])
            #expect(delivered.status == 200)
            var dead: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                dead = try await http.get("/billing/admin/webhooks/dead", token: admin).json["events"] as? [[String: Any]] ?? []
                if !dead.isEmpty { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let entry = try #require(dead.first)
            #expect(dead.count == 1 && entry["event_id"] as? String == "evt_serve_dead" && entry["attempts"] as? Int == 6)
            #expect((entry["last_error"] as? String)?.contains("credits_late") == true, "\(entry)")
            #expect(try await http.get("/billing/admin/webhooks/dead", token: TestJWT.customer("frank")).status == 403)

            // The operator adds the missing package, then replays the event.
            let now = SystemClock().now()
            try await db.withConnection { conn in
                try conn.execute("""
                    INSERT INTO credit_packages (package_id, name, credits, price_minor, currency, provider_price_id, active, created_at, updated_at)
                    VALUES ('credits_late', 'Late credits', 300, 300, 'USD', 'price_late', \(true), \(now), \(now))
                    """)
            }
            let id = try #require(entry["id"] as? Int)
            let replayed = try await http.post("/billing/admin/webhooks/\(id)/replay", token: admin, json: [String: Any]())
            #expect(replayed.status == 200 && replayed.json["state"] as? String == "pending", "\(replayed.text)")
            let frank = TestJWT.customer("frank")
            var balance = 0
            let credited = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < credited {
                balance = try await http.get("/billing/wallet", token: frank).json["balance_credits"] as? Int ?? 0
                if balance != 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(balance == 300)
            let again = try await http.post("/billing/admin/webhooks/\(id)/replay", token: admin, json: [String: Any]())
            #expect(again.status == 409 && again.json["error_code"] as? String == "WEBHOOK_EVENT_NOT_DEAD")
            #expect(try await http.post("/billing/admin/webhooks/999999/replay", token: admin, json: [String: Any]()).status == 404)

            // A charge refunded once, and only once.
            let charged = try await http.post("/billing/charges", token: frank, json: ["agent": "code_reviewer", "run_id": "refund-me"])
            let chargeID = try #require((charged.json["transaction"] as? [String: Any])?["id"] as? Int)
            let refund = try await http.post("/billing/admin/refunds", token: admin, json: ["transaction_id": chargeID, "reason": "agent crashed"])
            #expect(refund.status == 200 && refund.json["new_balance"] as? Int == 300, "\(refund.text)")
            let twice = try await http.post("/billing/admin/refunds", token: admin, json: ["transaction_id": chargeID])
            #expect(twice.status == 409 && twice.json["error_code"] as? String == "BILLING_NOT_REFUNDABLE")
            #expect(try await http.post("/billing/admin/refunds", token: admin, json: ["transaction_id": 987654]).status == 404)

            let verified = try await http.get("/billing/admin/ledger/verify", token: admin)
            #expect(verified.status == 200 && verified.json["consistent"] as? Bool == true && verified.json["wallets"] as? Int == 1,
                    "\(verified.text)")
            // A ledger broken behind the services' back is reported, not hidden.
            try await db.withConnection { try $0.execute("UPDATE credit_wallets SET balance = balance + 1") }
            let broken = try await http.get("/billing/admin/ledger/verify", token: admin)
            #expect(broken.json["consistent"] as? Bool == false
                    && (broken.json["inconsistent"] as? [[String: Any]])?.first?["customer"] as? String == "frank")
        }
    }

    @Test(arguments: Backend.allCases)
    func subscriptionUsageAndAccessAreTheCallersOwn(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let gina = TestJWT.customer("gina")
            for path in ["/billing/subscription", "/billing/usage", "/billing/access"] {
                let none = try await http.get(path, token: gina)
                #expect(none.status == 404 && none.json["error_code"] as? String == "BILLING_NO_SUBSCRIPTION", "\(path): \(none.text)")
            }
            _ = try await SubscriptionService(database: db, clock: SystemClock(), logger: TestLog.logger)
                .subscribe(customer: "gina", planCode: "free", context: .system)
            let subscription = try await http.get("/billing/subscription", token: gina)
            #expect(subscription.status == 200 && subscription.json["plan"] as? String == "free"
                    && subscription.json["state"] as? String == "active", "\(subscription.text)")
            #expect(try await http.get("/billing/access", token: gina).json["access"] as? String == "full")

            // The free plan allows 1,000 units: 850 fires the 80 % alert, 300 more the 100 % one, capped at 100 %.
            let first = try await http.post("/billing/usage", token: gina, json: ["quantity": 850])
            #expect(first.status == 200 && first.json["used"] as? Int == 850 && first.json["alerts_fired"] as? [Int] == [80], "\(first.text)")
            let second = try await http.post("/billing/usage", token: gina, json: ["quantity": 300])
            #expect(second.json["alerts_fired"] as? [Int] == [100] && second.json["percentage"] as? Double == 100
                    && second.json["remaining"] as? Int == 0, "\(second.text)")
            let read = try await http.get("/billing/usage", token: gina)
            #expect(read.json["used"] as? Int == 1150 && read.json["limit"] as? Int == 1000 && read.json["alerts_fired"] == nil)
            #expect(try await http.post("/billing/usage", token: gina, json: ["quantity": 0]).status == 400)
            // Another customer's subscription is not theirs to see.
            #expect(try await http.get("/billing/usage", token: TestJWT.customer("hank")).status == 404)

            _ = try await GracePeriodService(database: db, clock: SystemClock(), logger: TestLog.logger)
                .paymentFailed(customer: "gina", reason: "card declined", context: .system)
            let grace = try await http.get("/billing/access", token: gina)
            #expect(grace.json["access"] as? String == "grace" && grace.json["days_left"] as? Int == 7
                    && (grace.json["grace_ends_at"] as? String)?.hasSuffix("Z") == true, "\(grace.text)")
        }
    }

    // MARK: Concurrency

    @Test(arguments: Backend.allCases)
    func aThousandConcurrentChargesChargeExactlyWhatTheBalanceCovers(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let c = Self.reviewerCost
            let balance = c * 600 + 25
            let grant = try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                            json: ["customer": "load", "credits": balance, "reason": "load test"])
            #expect(grant.json["new_balance"] as? Int == Int(balance))
            let token = TestJWT.customer("load")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<1_000 {
                    group.addTask {
                        try await http.post("/billing/charges", token: token, json: ["agent": "code_reviewer", "run_id": "load-\(i)"]).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            let expected = Int(balance / c)
            #expect(expected == 600 && statuses.filter { $0 == 201 }.count == expected)
            #expect(statuses.filter { $0 == 402 }.count == 1_000 - expected, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            let wallets = WalletService(database: db, logger: TestLog.logger)
            let report = try await wallets.verifyLedger(customer: "load")
            #expect(report.isConsistent, "\(report.problems)")
            #expect(try await wallets.balance(customer: "load") == balance - Int64(expected) * c)
        }
    }

    @Test(arguments: Backend.allCases)
    func twoServersOnOneDatabaseShareItSafely(_ backend: Backend) async throws {
        try await withFreshServerDatabase(backend) { db, rawURL in
            let first = try await ServeProcess(databaseURL: rawURL)
            let second = try await ServeProcess(databaseURL: rawURL)
            let clients = [HTTPClient(baseURL: first.baseURL), HTTPClient(baseURL: second.baseURL)]
            let c = Self.reviewerCost
            let balance = c * 30 + 7
            _ = try await clients[0].post("/billing/admin/grant", token: TestJWT.admin(),
                                          json: ["customer": "shared", "credits": balance, "reason": "two servers"])
            let token = TestJWT.customer("shared")
            let event = """
                {"id":"evt_two_servers","type":"checkout.session.completed","data":{"object":{"id":"cs_two_servers",\
                "payment_status":"paid","metadata":{"customer":"buyer2","package_id":"credits_1000"}}}}
                """
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<100 {
                    let http = clients[i % 2]
                    group.addTask {
                        try await http.post("/billing/charges", token: token, json: ["agent": "code_reviewer", "run_id": "two-\(i % 60)"]).status
                    }
                    if i % 10 == 0 {
                        group.addTask {
                            try await http.send("POST", "/billing/webhook", body: Data(event.utf8),
                                                headers: ["Content-Type": "application/json", "Stripe-Signature": stripeSignature(event)]).status
                        }
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // 60 distinct runs, 40 of them asked twice: 30 charged, the rest refused or replayed.
            #expect(!statuses.contains { $0 >= 500 }, "\(statuses)")
            let wallets = WalletService(database: db, logger: TestLog.logger)
            let charges = try await wallets.history(customer: "shared", limit: 200).filter { $0.kind == .charge }
            #expect(charges.count == 30 && Set(charges.compactMap(\.runID)).count == 30)
            #expect(try await wallets.balance(customer: "shared") == 7)
            #expect(try await wallets.verifyLedger(customer: "shared").isConsistent)
            // The event, delivered ten times to two servers, is credited once by one of their workers.
            var credited: Int64 = 0
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                credited = try await wallets.balance(customer: "buyer2")
                if credited != 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await wallets.balance(customer: "buyer2") == 1000 && credited == 1000)
            for server in [first, second] {
                let (status, stderr) = try await server.stop()
                #expect(status == 0, "\(stderr.suffix(10))")
            }
        }
    }

    // MARK: Timeouts

    @Test func aSilentConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withServer(.postgres, arguments: ["--idle-timeout", "1"]) { http, _, server in
            let port = try #require(server.baseURL.port)
            let started = ContinuousClock.now
            let received = try await silentConnection(port: port, waitingAtMost: 20)
            let waited = ContinuousClock.now - started
            #expect(received == 0, "the server did not close the silent connection")
            #expect(waited >= .milliseconds(800) && waited < .seconds(10), "\(waited)")
            // A client that talks is served as usual.
            #expect(try await http.get("/health").status == 200)
        }
    }

    @Test func aRequestTrickledInPastTheRequestTimeoutIsAnswered408AndChangesNothing() async throws {
        try await withServer(.postgres, arguments: ["--request-timeout", "2", "--idle-timeout", "4"]) { http, db, server in
            let port = try #require(server.baseURL.port)
            _ = try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                    json: ["customer": "slow", "credits": 500, "reason": "slow client"])
            // A body of 60 bytes sent a byte every 250 ms: each byte refreshes the idle
            // timeout, so only the request deadline stops it, after 2 s instead of 15.
            let body = #"{"agent": "code_reviewer", "run_id": "slow-run-0000000001"}"#
            let head = "POST /billing/charges HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestJWT.customer("slow"))\r\n"
                + "Content-Type: application/json\r\nX-Request-Id: slow-body-1\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
            let started = ContinuousClock.now
            let slowBody = try await tricklingExchange(port: port, sendAtOnce: head, trickle: body, every: .milliseconds(250))
            let tookBody = ContinuousClock.now - started
            #expect(slowBody.response.hasPrefix("HTTP/1.1 408"), "\(slowBody.response)")
            #expect(slowBody.response.contains(#""error_code":"REQUEST_TIMEOUT""#) && slowBody.response.contains(#""request_id":"slow-body-1""#))
            #expect(slowBody.closedByServer && slowBody.bytesSent < body.utf8.count, "\(slowBody)")
            #expect(tookBody >= .milliseconds(1800) && tookBody < .seconds(8), "\(tookBody)")
            // A head sent as slowly is closed by the idle timeout: no part is read until it is whole.
            let slowHead = try await tricklingExchange(port: port, sendAtOnce: "", trickle: head + body, every: .milliseconds(250))
            #expect(slowHead.closedByServer && slowHead.response.isEmpty && slowHead.bytesSent < head.utf8.count, "\(slowHead)")
            // Nothing was charged, and the server goes on answering.
            let wallet = try await http.get("/billing/wallet", token: TestJWT.customer("slow"))
            #expect(wallet.json["balance_credits"] as? Int == 500, "\(wallet.text)")
            #expect(try await count(db, "credit_transactions") == 1)
            let charge = try await http.post("/billing/charges", token: TestJWT.customer("slow"),
                                             json: ["agent": "code_reviewer", "run_id": "slow-run-0000000002"])
            #expect(charge.status == 201, "\(charge.text)")
        }
    }

    // MARK: Shutdown

    @Test(arguments: Backend.allCases)
    func sigtermWithRequestsInFlightFinishesThemAndExitsZero(_ backend: Backend) async throws {
        try await withFreshServerDatabase(backend) { db, rawURL in
            let server = try await ServeProcess(databaseURL: rawURL)
            let http = HTTPClient(baseURL: server.baseURL)
            _ = try await http.post("/billing/admin/grant", token: TestJWT.admin(),
                                    json: ["customer": "drain", "credits": 100_000, "reason": "drain test"])
            let token = TestJWT.customer("drain")
            let inFlight = Task {
                try await withThrowingTaskGroup(of: Int?.self) { group in
                    for i in 0..<50 {
                        group.addTask { try? await http.post("/billing/charges", token: token,
                                                            json: ["agent": "code_reviewer", "run_id": "drain-\(i)"]).status }
                    }
                    return try await group.reduce(into: [Int?]()) { $0.append($1) }
                }
            }
            try await Task.sleep(for: .milliseconds(30))
            let (status, stderr) = try await server.stop()
            #expect(status == 0, "\(stderr.suffix(10))")
            let answered = try await inFlight.value
            // Every request was either answered as a charge or never started: the ledger says which.
            #expect(answered.allSatisfy { $0 == nil || $0 == 201 }, "\(answered)")
            let charged = answered.filter { $0 == 201 }.count
            let wallets = WalletService(database: db, logger: TestLog.logger)
            #expect(try await wallets.verifyLedger(customer: "drain").isConsistent)
            let rows = try await wallets.history(customer: "drain", limit: 100).filter { $0.kind == .charge }.count
            #expect(rows >= charged)
            #expect(!stderr.joined().contains(ServeProcess.jwtSecret) && !stderr.joined().contains(ServeProcess.webhookSecret))
        }
    }
}

/// A fresh migrated and seeded database with `strata serve` on it: `body` gets a client,
/// the database and the process; afterwards SIGTERM must end the process with 0, and
/// nothing it printed may hold a secret or the database password.
func withServer(_ backend: Backend, arguments: [String] = [],
                _ body: @escaping @Sendable (HTTPClient, Database, ServeProcess) async throws -> Void) async throws {
    try await withFreshServerDatabase(backend) { db, rawURL in
        let server = try await ServeProcess(databaseURL: rawURL, arguments: arguments)
        let outcome: Result<Void, any Error>
        do {
            try await body(HTTPClient(baseURL: server.baseURL), db, server)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        let (status, stderr) = try await server.stop()
        #expect(status == 0, "strata serve exited \(status): \(stderr.suffix(10))")
        let printed = stderr.joined(separator: "\n")
        #expect(!printed.contains(ServeProcess.jwtSecret) && !printed.contains(ServeProcess.webhookSecret))
        #expect(!printed.contains("strata:strata@"))
        try outcome.get()
    }
}

/// A fresh migrated and seeded database, and its URL text for `DATABASE_URL`.
func withFreshServerDatabase(_ backend: Backend, _ body: @escaping @Sendable (Database, String) async throws -> Void) async throws {
    try await withFreshDatabase(backend, migrated: true, maxConnections: 4) { db, url in
        try await CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"), logger: TestLog.logger).seed()
        try await body(db, try backend.rawURL(database: url.database))
    }
}

/// A TCP socket connected to 127.0.0.1:`port`, or nil (and nothing left open) when the
/// connection fails. Blocking: call it on a thread of its own.
private func loopbackSocket(port: Int) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// Connects to the port, sends nothing, and waits for the server to close the
/// connection: `recv`'s result (0 for a close, -1 when `seconds` passed first). Runs on
/// a thread of its own: the wait blocks.
private func silentConnection(port: Int, waitingAtMost seconds: Int) async throws -> Int {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            guard let fd = loopbackSocket(port: port) else { return continuation.resume(throwing: POSIXError(.ECONNREFUSED)) }
            defer { close(fd) }
            var timeout = timeval(tv_sec: seconds, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var byte: UInt8 = 0
            continuation.resume(returning: recv(fd, &byte, 1, 0))
        }
    }
}

/// What a client that sends `sendAtOnce`, then `trickle` one byte at a time, saw.
private struct TrickleResult: CustomStringConvertible {
    var response: String
    var bytesSent: Int
    var closedByServer: Bool
    var description: String { "sent \(bytesSent) trickled bytes, closed: \(closedByServer), response: \(response.prefix(300))" }
}

/// Sends `sendAtOnce`, then `trickle` a byte every `interval`, reading what the server
/// answers in between; stops when the server closes the connection (or after 30 s).
private func tricklingExchange(port: Int, sendAtOnce: String, trickle: String, every interval: Duration) async throws -> TrickleResult {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            guard let fd = loopbackSocket(port: port) else { return continuation.resume(throwing: POSIXError(.ECONNREFUSED)) }
            defer { close(fd) }
            let micros = Int(interval.components.seconds) * 1_000_000 + Int(interval.components.attoseconds / 1_000_000_000_000)
            var timeout = timeval(tv_sec: micros / 1_000_000, tv_usec: Int(micros % 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let first = Array(sendAtOnce.utf8)
            if !first.isEmpty { _ = send(fd, first, first.count, Int32(MSG_NOSIGNAL)) }
            var received: [UInt8] = []
            var sent = 0
            var closed = false
            let bytes = Array(trickle.utf8)
            let deadline = ContinuousClock.now + .seconds(30)
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                if sent < bytes.count, send(fd, [bytes[sent]], 1, Int32(MSG_NOSIGNAL)) == 1 { sent += 1 }
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 { received += buffer[0..<n]; continue }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { closed = true; break }
            }
            continuation.resume(returning: TrickleResult(response: String(decoding: received, as: UTF8.self),
                                                         bytesSent: sent, closedByServer: closed))
        }
    }
}

private func count(_ db: Database, _ table: String) async throws -> Int64 {
    try await db.withConnection { try $0.queryFirst("SELECT COUNT(*) AS n FROM \(identifier: table)")!.decode("n") }
}
