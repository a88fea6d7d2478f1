import Foundation
import StrataBilling
import StrataSQL
import Testing

/// `GET /metrics` of a real `strata serve` process, after known traffic, on both
/// backends: every count and sum is exactly the traffic's, the latency histogram is
/// whole, the scrape-time gauges are there and sane, and no secret shows.
///
/// Serialized like ``ServeTests``, for the same reason: each test runs a server and
/// waits for its webhook workers.
@Suite("strata serve metrics", .serialized)
struct ServeMetricsTests {
    static let reviewerCost = 40          // code_reviewer in seeds/agent_costs.csv
    static let packageCredits = 1_000     // credits_1000 in seeds/credit_packages.json

    @Test(arguments: Backend.allCases)
    func metricsCountTheTrafficExactly(_ backend: Backend) async throws {
        let arguments = ["--webhook-retry-schedule", "0,0,0,0,0", "--max-connections", "6"]
        try await withServer(backend, arguments: arguments) { http, db, _ in
            let admin = TestJWT.admin()
            let carol = TestJWT.customer("carol")

            // A grant of 150, three charges that succeed (120), a fourth refused (30 < 40),
            // the first run again (a replay), and a path no route matches.
            let grant = try await http.post("/billing/admin/grant", token: admin,
                                            json: ["customer": "carol", "credits": 150, "reason": "metrics"])
            #expect(grant.status == 200, "\(grant.text)")
            for run in 1...3 {
                let charged = try await http.post("/billing/charges", token: carol, json: ["agent": "code_reviewer", "run_id": "m-\(run)"])
                #expect(charged.status == 201, "\(charged.text)")
            }
            let refused = try await http.post("/billing/charges", token: carol, json: ["agent": "code_reviewer", "run_id": "m-4"])
            #expect(refused.status == 402)
            let replay = try await http.post("/billing/charges", token: carol, json: ["agent": "code_reviewer", "run_id": "m-1"])
            #expect(replay.status == 200 && replay.json["replay"] as? Bool == true)
            #expect(try await http.get("/billing/no-such-route/42").status == 404)

            // Webhooks: one event processed (delivered twice), one with a forged
            // signature, one that fails every attempt and dies.
            let paid = Self.checkout(id: "evt_metrics_ok", customer: "dave", package: "credits_1000")
            let failing = Self.checkout(id: "evt_metrics_dead", customer: "erin", package: "credits_missing")
            for payload in [paid, paid, failing] {
                #expect(try await Self.deliver(payload, http: http).status == 200)
            }
            let forged = try await Self.deliver(paid, signature: stripeSignature(paid, secret: "whsec_forged"), http: http)
            #expect(forged.status == 400)
            let deadID = try await Self.waitForDeadEvent(http: http, admin: admin)
            #expect(try await Self.waitForBalance(customer: "dave", http: http) == Self.packageCredits)

            // A worker counts an attempt once it has recorded it, a moment after the state
            // that the waits above see: scrape until both counts show (at most 10 s; the
            // exact checks below fail otherwise).
            var scrapes = 1
            var first = try await http.get("/metrics")
            let counted = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < counted {
                let early = PrometheusText(first.text)
                if early["strata_webhook_events_total", ["outcome": "processed"]] == 1,
                   early["strata_webhook_events_total", ["outcome": "dead"]] == 1 { break }
                try await Task.sleep(for: .milliseconds(100))
                first = try await http.get("/metrics")
                scrapes += 1
            }
            #expect(first.status == 200)
            #expect(first.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let m = PrometheusText(first.text)

            #expect(m["strata_charges_total", ["outcome": "succeeded"]] == 3)
            #expect(m["strata_charges_total", ["outcome": "refused"]] == 1)
            #expect(m["strata_charges_total", ["outcome": "replayed"]] == 1)
            #expect(m["strata_credits_granted_total"] == 150)
            #expect(m["strata_credits_charged_total"] == Double(3 * Self.reviewerCost))
            #expect(m["strata_credits_purchased_total"] == Double(Self.packageCredits))
            #expect(m["strata_credits_refunded_total"] == 0)

            let events = { (outcome: String) in m["strata_webhook_events_total", ["outcome": outcome]] }
            #expect(events("stored") == 2)
            #expect(events("duplicate") == 1)
            #expect(events("rejected") == 1)
            #expect(events("processed") == 1)
            #expect(events("retry_scheduled") == 5, "five failures retried, the sixth is the last")
            #expect(events("dead") == 1)
            #expect(events("lease_lost") == 0 && events("replayed") == 0)
            #expect(m["strata_webhook_dead_letter_events"] == 1)

            let requests = { (method: String, route: String, status: Int) in
                m["strata_http_requests_total", ["method": method, "route": route, "status": "\(status)"]]
            }
            #expect(requests("POST", "/billing/admin/grant", 200) == 1)
            #expect(requests("POST", "/billing/charges", 201) == 3)
            #expect(requests("POST", "/billing/charges", 402) == 1)
            #expect(requests("POST", "/billing/charges", 200) == 1)
            #expect(requests("GET", "unmatched", 404) == 1, "\(m.samples("strata_http_requests_total", matching: ["status": "404"]))")
            #expect(m.samples("strata_http_requests_total", matching: [:]).allSatisfy { ($0.labels["route"] ?? "").hasPrefix("/") || $0.labels["route"] == "unmatched" })
            #expect(requests("POST", "/billing/webhook", 200) == 3)
            #expect(requests("POST", "/billing/webhook", 400) == 1)
            #expect(!first.text.contains("no-such-route"), "a raw path became a label")

            // The charges' latency histogram: cumulative buckets ending in +Inf = count,
            // and a sum of seconds that five quick local requests cannot exceed.
            let route = ["method": "POST", "route": "/billing/charges"]
            let buckets = m.samples("strata_http_request_duration_seconds_bucket", matching: route)
                .compactMap { sample in sample.labels["le"].map { ($0 == "+Inf" ? Double.infinity : Double($0) ?? .nan, sample.value) } }
                .sorted { $0.0 < $1.0 }
            #expect(buckets.count == 14, "13 bounds from 1 ms to 10 s, and +Inf")
            #expect(buckets.first?.0 == 0.001 && buckets.dropLast().last?.0 == 10)
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.1 <= $1.1 }, "buckets are cumulative: \(buckets)")
            #expect(buckets.last?.1 == 5)
            #expect(m["strata_http_request_duration_seconds_count", route] == 5)
            let sum = try #require(m["strata_http_request_duration_seconds_sum", route])
            #expect(sum > 0 && sum < 30, "\(sum) s")

            // The pool, sampled at the scrape: nothing waits, nothing exceeds the limit.
            let inUse = try #require(m["strata_db_pool_connections", ["state": "in_use"]])
            let idle = try #require(m["strata_db_pool_connections", ["state": "idle"]])
            #expect(m["strata_db_pool_max_connections"] == 6)
            #expect(inUse >= 0 && idle >= 0 && inUse + idle >= 1 && inUse + idle <= 6, "in use \(inUse), idle \(idle)")
            #expect(m["strata_db_pool_waiters"] == 0)

            // Nothing secret: no token, no signing key, no database password.
            for secret in [admin, carol, ServeProcess.jwtSecret, ServeProcess.webhookSecret, "Bearer", "strata:strata@"] {
                #expect(!first.text.contains(secret), "the metrics show \(secret.prefix(12))…")
            }

            // The operator fixes the package and replays the dead event: the route label is
            // the pattern, the event is processed, the queue is empty.
            let now = SystemClock().now()
            try await db.withConnection { conn in
                try conn.execute("""
                    INSERT INTO credit_packages (package_id, name, credits, price_minor, currency, provider_price_id, active, created_at, updated_at)
                    VALUES ('credits_missing', 'Late credits', 300, 300, 'USD', 'price_missing', \(true), \(now), \(now))
                    """)
            }
            let replayed = try await http.post("/billing/admin/webhooks/\(deadID)/replay", token: admin, json: [String: Any]())
            #expect(replayed.status == 200, "\(replayed.text)")
            #expect(try await Self.waitForBalance(customer: "erin", http: http) == 300)
            // The worker counts the attempt once it has recorded it, a moment after the
            // purchase commits: scrape until the count shows (or 10 s pass; then it fails below).
            var second = PrometheusText(try await http.get("/metrics").text)
            var earlierScrapes = scrapes
            let settled = ContinuousClock.now + .seconds(10)
            while second["strata_webhook_events_total", ["outcome": "processed"]] != 2, ContinuousClock.now < settled {
                try await Task.sleep(for: .milliseconds(100))
                second = PrometheusText(try await http.get("/metrics").text)
                earlierScrapes += 1
            }
            #expect(second["strata_http_requests_total",
                           ["method": "POST", "route": "/billing/admin/webhooks/{id}/replay", "status": "200"]] == 1)
            #expect(second.samples("strata_http_requests_total", matching: [:]).allSatisfy { !($0.labels["route"] ?? "").contains("\(deadID)") })
            #expect(second["strata_webhook_events_total", ["outcome": "replayed"]] == 1)
            #expect(second["strata_webhook_events_total", ["outcome": "processed"]] == 2)
            #expect(second["strata_credits_purchased_total"] == Double(Self.packageCredits + 300))
            #expect(second["strata_webhook_dead_letter_events"] == 0)
            #expect(second["strata_http_requests_total", ["method": "GET", "route": "/metrics", "status": "200"]] == Double(earlierScrapes),
                    "every earlier scrape counts, once it has answered; this one does not yet")
        }
    }

    /// The invoice gauges are counted at each scrape, whatever process recorded the
    /// invoices: every status is a series from the first scrape (0 when no invoice has
    /// it), and a payment moves an invoice from `open` to `paid` by the next scrape.
    @Test(arguments: Backend.allCases)
    func invoiceCountsByStatusAreSampledAtEachScrape(_ backend: Backend) async throws {
        try await withServer(backend) { http, db, _ in
            let statuses = ["draft", "open", "paid", "void", "uncollectible"]
            let before = try await http.get("/metrics")
            #expect(before.text.contains("# TYPE strata_invoices gauge"), "\(before.text.prefix(400))")
            let empty = PrometheusText(before.text)
            for status in statuses {
                #expect(empty["strata_invoices", ["status": status]] == 0, "\(status)")
            }

            // One draft, one open, two paid and one void invoice, through the webhook endpoint.
            try await ServeInvoiceTests.subscribe(["ivy"], db: db)
            let specs: [(String, String, String)] = [
                ("in_m1", "invoice.created", "draft"), ("in_m2", "invoice.finalized", "open"),
                ("in_m3", "invoice.payment_succeeded", "paid"), ("in_m4", "invoice.payment_succeeded", "paid"),
                // The handled events record the status their invoice carries, a void one too.
                ("in_m5", "invoice.finalized", "void"),
            ]
            for (n, (invoice, type, status)) in specs.enumerated() {
                let payload = Self.invoiceEvent(id: "evt_\(invoice)", type: type, invoice: invoice, status: status,
                                                created: InvoiceTests.t0 + Int64(n))
                #expect(try await Self.deliver(payload, http: http).status == 200)
            }
            let counts = try await Self.waitForInvoiceCounts(["draft": 1, "open": 1, "paid": 2, "void": 1, "uncollectible": 0],
                                                             http: http)
            #expect(counts == ["draft": 1, "open": 1, "paid": 2, "void": 1, "uncollectible": 0])
            let stored: Int64 = try await db.withConnection { try $0.queryFirst("SELECT COUNT(*) AS n FROM invoices")!.decode("n") }
            #expect(stored == 5)

            // The open invoice is paid: the next scrape counts it as paid.
            let payment = Self.invoiceEvent(id: "evt_in_m2_paid", type: "invoice.payment_succeeded", invoice: "in_m2", status: "paid",
                                            created: InvoiceTests.t0 + 20)
            #expect(try await Self.deliver(payment, http: http).status == 200)
            let after = try await Self.waitForInvoiceCounts(["draft": 1, "open": 0, "paid": 3, "void": 1, "uncollectible": 0],
                                                            http: http)
            #expect(after == ["draft": 1, "open": 0, "paid": 3, "void": 1, "uncollectible": 0])
            #expect(!(try await http.get("/metrics").text.contains("ivy")), "a customer id became a label")
        }
    }

    // MARK: Helpers

    /// A Stripe invoice event of ivy's, its invoice in `status` (paid in full when paid).
    static func invoiceEvent(id: String, type: String, invoice: String, status: String, created: Int64) -> String {
        var object = InvoiceTests.invoiceObject(id: invoice, customer: "cus_ivy", status: status,
                                                amountPaid: status == "paid" ? 4900 : 0, created: InvoiceTests.t0,
                                                finalizedAt: status == "draft" ? nil : InvoiceTests.t0 + 1)
        object["metadata"] = ["customer": "ivy"]
        return InvoiceTests.event(id: id, type: type, created: created, object: object)
    }

    /// The invoice gauges once they read `expected` (scraping every 200 ms, at most 30 s), or the last read.
    static func waitForInvoiceCounts(_ expected: [String: Double], http: HTTPClient) async throws -> [String: Double] {
        let deadline = ContinuousClock.now + .seconds(30)
        var counts: [String: Double] = [:]
        while ContinuousClock.now < deadline {
            let m = PrometheusText(try await http.get("/metrics").text)
            counts = Dictionary(uniqueKeysWithValues: m.samples("strata_invoices", matching: [:]).compactMap { sample in
                sample.labels["status"].map { ($0, sample.value) }
            })
            if counts == expected { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return counts
    }

    static func checkout(id: String, customer: String, package: String) -> String {
        """
        {"id":"\(id)","type":"checkout.session.completed","data":{"object":{"id":"cs_\(id)",\
        "payment_status":"paid","metadata":{"customer":"\(customer)","package_id":"\(package)"}}}}
        """
    }

    static func deliver(_ payload: String, signature: String? = nil, http: HTTPClient) async throws -> HTTPResult {
        try await http.send("POST", "/billing/webhook", body: Data(payload.utf8),
                            headers: ["Content-Type": "application/json", "Stripe-Signature": signature ?? stripeSignature(payload)])
    }

    /// The id of the one dead event, once the workers have spent its attempts (at most 30 s).
    static func waitForDeadEvent(http: HTTPClient, admin: String) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let dead = try await http.get("/billing/admin/webhooks/dead", token: admin).json["events"] as? [[String: Any]] ?? []
            if let id = dead.first?["id"] as? Int { return id }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ServeFailed(message: "no event went dead within 30 s")
    }

    /// The customer's balance once it is not 0 (at most 20 s), or 0.
    static func waitForBalance(customer: String, http: HTTPClient) async throws -> Int {
        let token = TestJWT.customer(customer)
        let deadline = ContinuousClock.now + .seconds(20)
        var balance = 0
        while ContinuousClock.now < deadline {
            balance = try await http.get("/billing/wallet", token: token).json["balance_credits"] as? Int ?? 0
            if balance != 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return balance
    }
}

/// Prometheus's text format read back: each sample's name, labels and value.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) {
        samples = text.split(separator: "\n").compactMap { Self.parse(String($0)) }
    }

    /// The value of the sample with exactly these labels, or `nil`.
    subscript(name: String, labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The samples of `name` whose labels include `labels`.
    func samples(_ name: String, matching labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// `name{a="x",b="y"} value` or `name value`; comments and blank lines are `nil`.
    /// Label values here never hold a quote or a comma, so no unescaping is needed.
    private static func parse(_ line: String) -> Sample? {
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            return nil
        }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
        var labels: [String: String] = [:]
        for pair in series[series.index(after: brace)..<series.index(before: series.endIndex)].split(separator: ",") {
            guard let equals = pair.firstIndex(of: "=") else { continue }
            labels[String(pair[..<equals])] = String(pair[pair.index(after: equals)...]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return Sample(name: String(series[..<brace]), labels: labels, value: value)
    }
}
