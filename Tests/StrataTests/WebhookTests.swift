import Foundation
import Logging
import StrataBilling
import StrataSQL
import Testing

/// The webhook inbox and its retry workers, on both backends, with a manual clock:
/// signatures (a refused delivery stores nothing), store-once under 20 concurrent
/// deliveries, the retry schedule into the dead-letter state and back by replay,
/// workers racing, leases taken over, and the built-in billing handlers.
@Suite("Webhooks")
struct WebhookTests {
    static let secret = "whsec_test_4f1c"

    // MARK: Signatures

    @Test func signatureRoundTripAndRefusals() throws {
        let now = SQLTimestamp(microsecondsSinceEpoch: 1_767_225_600_250_000)
        let body = #"{"id":"evt_1","type":"invoice.paid"}"#
        let signature = WebhookSignature(secret: Self.secret)
        let header = WebhookSignature.sign(payload: body, secret: Self.secret, at: now)
        #expect(header.hasPrefix("t=1767225600,v1="))
        #expect(try signature.verify(payload: body, header: header, now: now) == SQLTimestamp(microsecondsSinceEpoch: 1_767_225_600_000_000))
        // Five minutes either way is accepted, a second more is not.
        #expect(throws: Never.self) { try signature.verify(payload: body, header: header, now: now.adding(seconds: 299)) }
        #expect(throws: Never.self) { try signature.verify(payload: body, header: header, now: now.adding(seconds: -300)) }
        #expect(reason { try signature.verify(payload: body, header: header, now: now.adding(seconds: 301)) }?.contains("old") == true)
        #expect(reason { try signature.verify(payload: body, header: header, now: now.adding(seconds: -301)) }?.contains("future") == true)
        // A rolled secret: one of several v1 values matching is enough; v0 is ignored.
        let other = WebhookSignature.sign(payload: body, secret: "whsec_old", at: now)
        let mac = String(header.split(separator: "=").last!)
        let both = "t=1767225600, v1=\(other.split(separator: "=").last!), v0=abc, v1=\(mac)"
        #expect(throws: Never.self) { try signature.verify(payload: body, header: both, now: now) }
        #expect(throws: Never.self) { try signature.verify(payload: body, header: "t=1767225600,v1=\(mac.uppercased())", now: now) }

        let refusals: [(String, String)] = [
            (body + " ", header),                                               // tampered payload
            (body, WebhookSignature.sign(payload: body, secret: "whsec_wrong", at: now)),
            (body, "t=1767225601,v1=\(mac)"),                                   // tampered timestamp
            (body, "v1=\(mac)"),                                                // no timestamp
            (body, "t=1767225600"),                                             // no signature
            (body, "t=1767225600,v1=zz"),                                       // not hex
            (body, "t=soon,v1=\(mac)"),
            (body, "t=1767225600,t=1767225600,v1=\(mac)"),
            (body, ""),
            (body, "garbage"),
        ]
        for (payload, h) in refusals {
            #expect(reason { try signature.verify(payload: payload, header: h, now: now) } != nil, "refused: \(h)")
        }
        #expect(signature.description.contains("whsec") == false, "the secret never shows")
        // An empty secret would let anyone sign: nothing verifies under it.
        let unsigned = WebhookSignature.sign(payload: body, secret: "", at: now)
        #expect(reason { try WebhookSignature(secret: "").verify(payload: body, header: unsigned, now: now) } == "no signing secret is configured")
    }

    @Test func retryPolicyIsTheDocumentedSchedule() {
        let policy = WebhookRetryPolicy.standard
        #expect(policy.maxAttempts == 6)
        #expect((1...5).map { policy.delay(afterFailedAttempt: $0, random: 0.5) } == [1, 10, 60, 600, 3600])
        #expect(policy.delay(afterFailedAttempt: 3, random: 0) == 54)
        #expect(abs(policy.delay(afterFailedAttempt: 3, random: 0.999_999)! - 66) < 0.001)
        #expect(policy.delay(afterFailedAttempt: 6, random: 0.5) == nil)
        #expect(policy.delay(afterFailedAttempt: 0, random: 0.5) == nil)
    }

    @Test(arguments: Backend.allCases)
    func aRefusedDeliveryStoresNothing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            let body = Self.payload(id: "evt_sig", type: "invoice.paid")
            let good = WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now())

            let refused: [(String, String)] = [
                (body, WebhookSignature.sign(payload: body, secret: "whsec_wrong", at: clock.now())),
                (body, WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now().adding(seconds: -301))),
                (body, WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now().adding(seconds: 301))),
                (body.replacingOccurrences(of: "evt_sig", with: "evt_sih"), good),
                (body, "t=\(clock.now().microsecondsSinceEpoch / 1_000_000)"),
            ]
            for (payload, header) in refused {
                await #expect(throws: WebhookError.self) {
                    try await inbox.receive(provider: "stripe", payload: payload, signatureHeader: header)
                }
            }
            // Signed, but not an event: refused too.
            for payload in [#"{"type":"x"}"#, #"{"id":"evt_x"}"#, #"{"id":7,"type":"x"}"#, "[1]", "not json"] {
                let header = WebhookSignature.sign(payload: payload, secret: Self.secret, at: clock.now())
                await #expect(throws: WebhookError.self) {
                    try await inbox.receive(provider: "stripe", payload: payload, signatureHeader: header)
                }
            }
            #expect(try await Self.count(db, "webhook_events") == 0)
            #expect(try await Self.count(db, "billing_audit") == 0)

            let stored = try await inbox.receive(provider: "stripe", payload: body, signatureHeader: good)
            #expect(!stored.isDuplicate)
            let event = try #require(try await inbox.event(id: stored.id))
            #expect(event.eventID == "evt_sig" && event.type == "invoice.paid" && event.state == .pending)
            #expect(event.attempts == 0 && event.nextAttemptAt == clock.now() && event.receivedAt == clock.now())
            #expect(event.leaseOwner == nil && event.leaseExpiresAt == nil && event.lastError == nil)
            #expect(try await Self.auditActions(db) == ["webhook.received": 1])
            let audit = try await AuditLog.query(db, subjectType: "webhook_event", subjectID: "\(stored.id)")
            #expect(audit.first?.actor == "webhook:stripe" && audit.first?.requestID == "stripe:evt_sig")
        }
    }

    // MARK: Store once, process once

    @Test(arguments: Backend.allCases)
    func aDuplicateDeliveredTwentyTimesAtOnceIsStoredAndProcessedOnce(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            let body = Self.payload(id: "evt_dup", type: "invoice.paid")
            let header = WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now())
            let results = try await withThrowingTaskGroup(of: WebhookInbox.ReceiveResult.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { !$0.isDuplicate }.count == 1)
            #expect(results.filter(\.isDuplicate).count == 19)
            #expect(Set(results.map(\.id)).count == 1, "every answer names the one stored event")
            #expect(try await Self.count(db, "webhook_events") == 1)
            #expect(try await Self.auditActions(db) == ["webhook.received": 1])

            // Same id, other provider or other case: other events.
            for (provider, id) in [("paddle", "evt_dup"), ("stripe", "EVT_DUP")] {
                let other = Self.payload(id: id, type: "invoice.paid")
                let r = try await inbox.receive(provider: provider, payload: other,
                                                signatureHeader: WebhookSignature.sign(payload: other, secret: Self.secret, at: clock.now()))
                #expect(!r.isDuplicate)
            }

            let calls = CallCounter()
            var registry = WebhookHandlerRegistry()
            registry.register("invoice.paid") { await calls.add($0.reference) }
            let workers = (1...4).map { Self.worker("w\($0)", db, clock, registry) }
            let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
                for w in workers { group.addTask { try await w.runDue(limit: 10).processed } }
                return try await group.reduce(0, +)
            }
            #expect(claimed == 3)
            #expect(try await workers[0].runDue(limit: 10).claimed == 0)
            #expect(await calls.counts == ["stripe:evt_dup": 1, "paddle:evt_dup": 1, "stripe:EVT_DUP": 1])
            let again = try await inbox.receive(provider: "stripe", payload: body, signatureHeader: header)
            #expect(again.isDuplicate, "a redelivery after processing is still a duplicate")
            #expect(try await inbox.event(id: again.id)?.state == .processed)
        }
    }

    // MARK: Retries, dead letters, replay

    @Test(arguments: Backend.allCases)
    func aFailingHandlerIsTriedSixTimesOnScheduleThenDeadThenReplayed(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            let failing = Switch(true)
            let calls = CallCounter()
            var registry = WebhookHandlerRegistry()
            registry.register("invoice.payment_failed") { event in
                await calls.add(event.reference)
                if failing.isOn { throw HandlerFailure(message: "card processor unavailable") }
            }
            // Pinned jitter: the shortest, the longest, none, then in between.
            let randoms = [0.0, 0.999_999, 0.5, 0.25, 0.75, 0.5]
            let sequence = RandomSequence(randoms)
            let worker = RetryWorker(id: "worker-1", database: db, registry: registry, clock: clock,
                                     logger: TestLog.logger, random: { sequence.next() })
            let body = Self.payload(id: "evt_fail", type: "invoice.payment_failed")
            let id = try await inbox.receive(provider: "stripe", payload: body,
                                             signatureHeader: WebhookSignature.sign(payload: body, secret: Self.secret, at: clock.now())).id
            let schedule: [Double] = [1, 10, 60, 600, 3600]
            for attempt in 1...6 {
                clock.advance(seconds: 0.25)   // the handler's own time
                let summary = try await worker.runDue(limit: 10)
                #expect(summary.claimed == 1 && summary.unrecorded == 0, "attempt \(attempt)")
                let event = try #require(try await inbox.event(id: id))
                let rows = try await inbox.attempts(eventID: id)
                #expect(event.attempts == attempt && rows.count == attempt)
                #expect(rows.last?.outcome == .failed && rows.last?.error == "card processor unavailable")
                #expect(event.leaseOwner == nil && event.leaseExpiresAt == nil)
                if attempt < 6 {
                    #expect(summary.retried == 1)
                    #expect(event.state == .pending)
                    let due = try #require(event.nextAttemptAt)
                    let finished = try #require(rows.last?.finishedAt)
                    let gap = Double(due.microsecondsSinceEpoch - finished.microsecondsSinceEpoch) / 1_000_000
                    let base = schedule[attempt - 1]
                    let expected = base * (1 + 0.1 * (2 * randoms[attempt - 1] - 1))
                    #expect(abs(gap - expected) < 0.000_01, "attempt \(attempt): waits \(gap) s, expected \(expected) s")
                    #expect(gap >= base * 0.9 - 0.000_01 && gap <= base * 1.1 + 0.000_01, "within ±10 % of \(base) s")
                    // Not due a millisecond early, due on time.
                    clock.set(due.adding(seconds: -0.001))
                    #expect(try await worker.runDue(limit: 10).claimed == 0, "attempt \(attempt + 1) is not due yet")
                    clock.set(due)
                } else {
                    #expect(summary.dead == 1)
                    #expect(event.state == .dead && event.nextAttemptAt == nil && event.processedAt == nil)
                    #expect(event.lastError == "card processor unavailable")
                }
            }
            #expect(await calls.counts == ["stripe:evt_fail": 6])
            clock.advance(seconds: 86_400)
            #expect(try await worker.runDue(limit: 10).claimed == 0, "a dead event is never due")
            #expect(try await inbox.dead().map(\.id) == [id])
            #expect(try await Self.auditActions(db) == ["webhook.received": 1, "webhook.attempt": 6, "webhook.dead": 1])
            #expect(TestLog.recorder.all.filter { $0.contains("webhook attempt failed") && $0.contains("evt_fail") }.count >= 6,
                    "every attempt is logged")

            // Replay: a fresh budget, the history kept, the next attempt numbered 7.
            failing.isOn = false
            let replayed = try await inbox.replay(eventID: id, context: BillingContext(actor: "admin:ops"))
            #expect(replayed.state == .pending && replayed.attempts == 0 && replayed.nextAttemptAt == clock.now())
            #expect(try await inbox.dead().isEmpty)
            let summary = try await worker.runDue(limit: 10)
            #expect(summary.processed == 1)
            let event = try #require(try await inbox.event(id: id))
            #expect(event.state == .processed && event.attempts == 1 && event.processedAt == clock.now() && event.lastError == nil)
            let rows = try await inbox.attempts(eventID: id)
            #expect(rows.map(\.number) == Array(1...7))
            #expect(rows.map(\.outcome) == Array(repeating: .failed, count: 6) + [.succeeded])
            #expect(try await Self.auditActions(db) == ["webhook.received": 1, "webhook.attempt": 7, "webhook.dead": 1, "webhook.replay": 1])

            await #expect(throws: WebhookError.notDead(eventID: "\(id)", state: .processed)) {
                try await inbox.replay(eventID: id, context: BillingContext(actor: "admin:ops"))
            }
            await #expect(throws: WebhookError.eventNotFound("stripe:evt_none")) {
                try await inbox.replay(provider: "stripe", eventID: "evt_none", context: BillingContext(actor: "admin:ops"))
            }
            #expect(try await Self.auditActions(db)["webhook.replay"] == 1, "a refused replay writes no audit row")
        }
    }

    @Test(arguments: Backend.allCases)
    func anEventWithoutAHandlerFailsUnlessIgnored(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            var registry = WebhookHandlerRegistry()
            registry.ignore("charge.succeeded")
            let worker = Self.worker("w1", db, clock, registry)
            let unknown = try await Self.deliver(inbox, clock, id: "evt_unknown", type: "customer.created")
            let ignored = try await Self.deliver(inbox, clock, id: "evt_ignored", type: "charge.succeeded")
            let summary = try await worker.runDue(limit: 10)
            #expect(summary.processed == 1 && summary.retried == 1)
            #expect(summary.results[ignored] == .processed)
            #expect(try await inbox.event(id: unknown)?.lastError == "no handler for type customer.created")
        }
    }

    // MARK: Concurrency and leases

    @Test(arguments: Backend.allCases)
    func fourWorkersRacingProcessEveryEventExactlyOnce(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            for i in 0..<50 {
                _ = try await Self.deliver(inbox, clock, id: "evt_race_\(i)", type: "invoice.paid")
            }
            let calls = CallCounter()
            var registry = WebhookHandlerRegistry()
            registry.register("invoice.paid") { event in
                await calls.add(event.reference)
                try await Task.sleep(nanoseconds: 2_000_000)   // long enough for the others to claim meanwhile
            }
            let workers = (1...4).map { Self.worker("racer-\($0)", db, clock, registry) }
            let perWorker = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for w in workers {
                    group.addTask {
                        var processed = 0
                        while true {
                            let s = try await w.runDue(limit: 5)
                            #expect(s.refused == 0 && s.unrecorded == 0 && s.reclaimed == 0)
                            if s.claimed == 0 { break }
                            processed += s.processed
                        }
                        return (w.id, processed)
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1.0] = $1.1 }
            }
            #expect(perWorker.values.reduce(0, +) == 50)
            #expect(perWorker.values.filter { $0 > 0 }.count >= 2, "the workers shared the events: \(perWorker)")
            let counts = await calls.counts
            #expect(counts.count == 50 && counts.values.allSatisfy { $0 == 1 }, "each event handled once: \(counts.filter { $0.value != 1 })")
            #expect(try await Self.count(db, "webhook_events WHERE state = 'processed'") == 50)
            #expect(try await Self.count(db, "webhook_attempts WHERE outcome = 'succeeded'") == 50)
            #expect(try await Self.count(db, "webhook_attempts") == 50)
            #expect(try await Self.auditActions(db) == ["webhook.received": 50, "webhook.attempt": 50])
        }
    }

    @Test(arguments: Backend.allCases)
    func anExpiredLeaseIsTakenOverAndTheLateResultRefused(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let inbox = Self.inbox(db, clock)
            let calls = CallCounter()
            var registry = WebhookHandlerRegistry()
            registry.register("invoice.paid") { await calls.add($0.reference) }
            let a = Self.worker("worker-A", db, clock, registry)
            let b = Self.worker("worker-B", db, clock, registry)
            let id = try await Self.deliver(inbox, clock, id: "evt_lease", type: "invoice.paid")

            let claims = try await a.claim(limit: 10)
            #expect(claims.count == 1 && claims.first?.reclaimed == false)
            let claimA = try #require(claims.first)
            #expect(claimA.leaseExpiresAt == clock.now().adding(seconds: 60))
            #expect(try await inbox.event(id: id)?.leaseOwner == "worker-A")
            // While A's lease holds, nobody else takes the event.
            clock.advance(seconds: 59)
            #expect(try await b.runDue(limit: 10).claimed == 0)
            // A stalls past its lease; B takes the event over and finishes it.
            clock.advance(seconds: 2)
            let summary = try await b.runDue(limit: 10)
            #expect(summary.claimed == 1 && summary.reclaimed == 1 && summary.processed == 1)
            // A's late results, success or failure, are refused and change nothing.
            clock.advance(seconds: 1)
            #expect(try await a.finish(claimA, error: nil) == .refused)
            #expect(try await a.finish(claimA, error: HandlerFailure(message: "late")) == .refused)
            #expect(try await a.process(claimA) == .refused)
            let event = try #require(try await inbox.event(id: id))
            #expect(event.state == .processed && event.attempts == 1 && event.leaseOwner == nil && event.lastError == nil)
            let rows = try await inbox.attempts(eventID: id)
            #expect(rows.map(\.worker) == ["worker-B"] && rows.map(\.outcome) == [.succeeded])
            #expect(try await Self.auditActions(db) == ["webhook.received": 1, "webhook.attempt": 1], "refused results are not audited")
            #expect(TestLog.recorder.all.contains { $0.contains("result refused") && $0.contains("worker-A") && $0.contains("evt_lease") })
            #expect(await calls.counts == ["stripe:evt_lease": 2], "B's run and A's late process; only B's counted")
        }
    }

    // MARK: Built-in handlers

    @Test(arguments: Backend.allCases)
    func builtInHandlersCreditPurchasesAndTrackGracePeriods(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, _ in
            let clock = ManualClock()
            let now = clock.now()
            try await db.withConnection { conn in
                try conn.execute("""
                    INSERT INTO credit_packages (package_id, name, credits, price_minor, currency, provider_price_id, active, created_at, updated_at)
                    VALUES (\("credits_500"), \("500 credits"), \(Int64(500)), \(Int64(900)), \("EUR"), \("price_500"), \(true), \(now), \(now))
                    """)
                try conn.execute("""
                    INSERT INTO plans (code, name, price_minor, currency, billing_interval, included_credits, usage_limit, features, active, created_at, updated_at)
                    VALUES (\("pro"), \("Pro"), \(Int64(4900)), \("EUR"), \("month"), \(Int64(1000)), \(Int64(5000)), \(SQLJSON("{}")), \(true), \(now), \(now))
                    """)
            }
            let wallets = WalletService(database: db, clock: clock, logger: TestLog.logger)
            let grace = GracePeriodService(database: db, clock: clock, logger: TestLog.logger)
            let worker = Self.worker("builtin", db, clock, .builtIn(wallets: wallets, grace: grace))
            let inbox = Self.inbox(db, clock)

            let session: [String: Any] = ["id": "cs_test_1", "payment_status": "paid",
                                          "metadata": ["customer": "acme", "package_id": "credits_500"]]
            let first = try await Self.deliver(inbox, clock, id: "evt_co_1", type: "checkout.session.completed", object: session)
            // The same session announced again under another event: credited once.
            let second = try await Self.deliver(inbox, clock, id: "evt_co_2", type: "checkout.session.async_payment_succeeded", object: session)
            let unpaid = try await Self.deliver(inbox, clock, id: "evt_co_3", type: "checkout.session.completed",
                                                object: ["id": "cs_test_2", "payment_status": "unpaid",
                                                         "metadata": ["customer": "acme", "package_id": "credits_500"]])
            let noPackage = try await Self.deliver(inbox, clock, id: "evt_co_4", type: "checkout.session.completed",
                                                   object: ["id": "cs_test_3", "metadata": ["customer": "acme"]])
            var summary = try await worker.runDue(limit: 10)
            #expect(summary.results[first] == .processed && summary.results[second] == .processed && summary.results[unpaid] == .processed)
            #expect(try await wallets.balance(customer: "acme") == 500)
            #expect(try await wallets.history(customer: "acme").map(\.externalReference) == ["cs_test_1"])
            if case .retryScheduled = summary.results[noPackage] {} else { Issue.record("no package id fails the attempt") }
            #expect(try await inbox.event(id: noPackage)?.lastError?.contains("package_id") == true)

            // Invoices name the provider's customer id only.
            let subscriptions = SubscriptionService(database: db, clock: clock, logger: TestLog.logger)
            _ = try await subscriptions.subscribe(customer: "acme", planCode: "pro", context: BillingContext(actor: "admin:test"))
            try await db.withConnection { conn in
                try conn.execute("UPDATE customers SET provider_customer_id = \("cus_ACME") WHERE external_id = \("acme")")
            }
            // Invoice events carry the invoice (the handlers record it too, see InvoiceTests).
            let t0 = InvoiceTests.t0
            let failed = try await Self.deliver(inbox, clock, id: "evt_in_1", type: "invoice.payment_failed", created: t0,
                                                object: InvoiceTests.invoiceObject(id: "in_1", customer: "cus_ACME",
                                                                                   status: "open", created: t0))
            summary = try await worker.runDue(limit: 1)
            #expect(summary.results[failed] == .processed)
            guard case .grace = try await grace.access(for: "acme") else {
                Issue.record("a failed invoice opens a grace period")
                return
            }
            let paid = try await Self.deliver(inbox, clock, id: "evt_in_2", type: "invoice.payment_succeeded", created: t0 + 60,
                                              object: InvoiceTests.invoiceObject(id: "in_1", customer: "cus_ACME", status: "paid",
                                                                                 amountPaid: 4900, created: t0, paidAt: t0 + 60))
            let stranger = try await Self.deliver(inbox, clock, id: "evt_in_3", type: "invoice.payment_failed",
                                                  object: ["id": "in_2", "customer": "cus_UNKNOWN"])
            summary = try await worker.runDue(limit: 10)
            #expect(summary.results[paid] == .processed)
            #expect(try await grace.access(for: "acme") == .full)
            #expect(try await inbox.event(id: stranger)?.lastError?.contains("cus_UNKNOWN") == true)
            let audit = try await AuditLog.query(db, subjectType: "wallet")
            // Both events of the session ran at once; whichever credited it is on the one audit row.
            #expect(audit.count == 1 && audit.first?.actor == "webhook:stripe")
            #expect(["stripe:evt_co_1", "stripe:evt_co_2"].contains(audit.first?.requestID ?? ""))
        }
    }

    // MARK: CLI

    @Test(arguments: Backend.allCases)
    func cliReceivesWorksListsAndReplays(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { _, url in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("webhook_cli"))
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("event.json")
            try Data(Self.payload(id: "evt_cli", type: "test.unhandled").utf8).write(to: file)
            let env = ["DATABASE_URL": url.urlString, "STRATA_WEBHOOK_SECRET": Self.secret]

            var r = try await StrataCLI.run(["webhooks", "receive", "--file", file.path, "--sign"],
                                            environment: ["DATABASE_URL": url.urlString, "STRATA_WEBHOOK_SECRET": ""])
            #expect(r.status == 64 && r.stderr.contains("STRATA_WEBHOOK_SECRET"), "\(r.stderr)")
            r = try await StrataCLI.run(["webhooks", "receive", "--file", file.path], environment: env)
            #expect(r.status == 64 && r.stderr.contains("--signature"), "\(r.stderr)")
            r = try await StrataCLI.run(["webhooks", "receive", "--file", file.path, "--signature", "t=1,v1=00"], environment: env)
            #expect(r.status == 1 && r.stderr.contains("invalid webhook signature"), "\(r.stderr)")
            r = try await StrataCLI.run(["webhooks", "receive", "--file", file.path, "--sign", "--json"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.json?["result"] as? String == "stored" && r.json?["event_id"] as? String == "evt_cli")
            r = try await StrataCLI.run(["webhooks", "receive", "--provider", "stripe", "--file", file.path, "--sign"], environment: env)
            #expect(r.status == 0 && r.stdout.contains("duplicate"), "\(r.stdout)")

            r = try await StrataCLI.run(["webhooks", "dead", "--json"], environment: env)
            #expect(r.status == 0 && (r.json?["events"] as? [Any])?.isEmpty == true, "\(r.stdout)")
            // No handler for the type: with no waits between attempts, six passes make it dead.
            r = try await StrataCLI.run(["webhooks", "work", "--until-idle", "--retry-schedule", "0,0,0,0,0", "--json",
                                         "--worker-id", "cli-worker"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            let passes = r.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(passes.map { $0["retried"] as? Int } == [1, 1, 1, 1, 1, 0], "\(r.stdout)")
            #expect(passes.last?["dead"] as? Int == 1 && passes.last?["worker"] as? String == "cli-worker")
            r = try await StrataCLI.run(["webhooks", "work", "--once", "--json"], environment: env)
            #expect(r.status == 0 && r.json?["claimed"] as? Int == 0, "\(r.stdout)")
            r = try await StrataCLI.run(["webhooks", "work", "--once", "--retry-schedule", "1,x"], environment: env)
            #expect(r.status == 64, "\(r.stderr)")

            r = try await StrataCLI.run(["webhooks", "dead"], environment: env)
            #expect(r.status == 0 && r.stdout.contains("evt_cli") && r.stdout.contains("no handler for type test.unhandled"), "\(r.stdout)")
            r = try await StrataCLI.run(["webhooks", "replay", "evt_cli", "--json"], environment: env)
            #expect(r.status == 0 && r.json?["state"] as? String == "pending", "\(r.stderr)")
            r = try await StrataCLI.run(["webhooks", "replay", "evt_cli"], environment: env)
            #expect(r.status == 1 && r.stderr.contains("not dead"), "\(r.stderr)")
        }
    }

    // MARK: Helpers

    static func inbox(_ db: Database, _ clock: ManualClock) -> WebhookInbox {
        WebhookInbox(database: db, clock: clock, logger: TestLog.logger, secret: secret)
    }

    static func worker(_ id: String, _ db: Database, _ clock: ManualClock, _ registry: WebhookHandlerRegistry) -> RetryWorker {
        RetryWorker(id: id, database: db, registry: registry, clock: clock, logger: TestLog.logger, random: { 0.5 })
    }

    static func payload(id: String, type: String, created: Int64? = nil, object: [String: Any] = [:]) -> String {
        var document: [String: Any] = ["id": id, "object": "event", "type": type, "data": ["object": object]]
        if let created { document["created"] = created }
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Receives a freshly signed event; returns its row id.
    static func deliver(_ inbox: WebhookInbox, _ clock: ManualClock, id: String, type: String, created: Int64? = nil,
                        object: [String: Any] = [:]) async throws -> Int64 {
        let body = payload(id: id, type: type, created: created, object: object)
        return try await inbox.receive(provider: "stripe", payload: body,
                                       signatureHeader: WebhookSignature.sign(payload: body, secret: secret, at: clock.now())).id
    }

    static func count(_ db: Database, _ tableAndCondition: String) async throws -> Int64 {
        try await db.withConnection { conn in
            try conn.queryFirst(SQLQuery(unsafeSQL: "SELECT COUNT(*) AS n FROM \(tableAndCondition)"))?.decode("n") ?? -1
        }
    }

    static func auditActions(_ db: Database) async throws -> [String: Int] {
        try await db.withConnection { conn in
            var out: [String: Int] = [:]
            for row in try conn.query("SELECT action, COUNT(*) AS n FROM billing_audit GROUP BY action") {
                out[try row.decode("action")] = try row.decode("n")
            }
            return out
        }
    }
}

/// The reason of a refused signature, or `nil` when it was accepted.
private func reason(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch WebhookError.invalidSignature(let reason) {
        return reason
    } catch {
        return "\(error)"
    }
}

/// Handler calls per event reference.
private actor CallCounter {
    private(set) var counts: [String: Int] = [:]
    func add(_ key: String) { counts[key, default: 0] += 1 }
}

/// A flag a test flips while handlers read it.
private final class Switch: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Bool
    init(_ value: Bool) { self.value = value }
    var isOn: Bool {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// Hands out the given values in turn, for pinned jitter.
private final class RandomSequence: @unchecked Sendable {
    private let lock = NSLock()
    private let values: [Double]
    private var index = 0
    init(_ values: [Double]) { self.values = values }
    func next() -> Double {
        lock.withLock {
            defer { index += 1 }
            return values[index % values.count]
        }
    }
}

private struct HandlerFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
