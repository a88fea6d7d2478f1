import Foundation
import StrataBilling
import StrataDrivers
import StrataSeeds
import StrataSQL
import Testing

/// Plans and usage alerts, grace periods and the sweep: on both backends, with a
/// `ManualClock`, concurrency included.
@Suite("Grace periods and usage")
struct GraceAndUsageTests {
    static let day: Double = 86_400
    static let ctx = BillingContext(actor: "test:grace", requestID: "req-1")
    static let sweeper = BillingContext(actor: "system:grace-sweep")

    // MARK: Subscriptions

    @Test(arguments: Backend.allCases)
    func subscribeStartsActiveForOneIntervalOfThePlan(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let start = b.clock.now()   // 2026-01-01 00:00:00 UTC
            let sub = try await b.subscriptions.subscribe(customer: "acme", planCode: "starter", context: Self.ctx)
            #expect(sub.state == .active)
            #expect(sub.currentPeriodStart == start)
            #expect(sub.currentPeriodEnd == SQLTimestamp(parsing: "2026-02-01 00:00:00"))
            #expect(try await b.subscriptions.subscription(id: sub.id) == sub)
            #expect(try await b.subscriptions.currentSubscription(customer: "acme") == sub)
            #expect(try await b.subscriptions.currentSubscription(customer: "ACME") == nil, "external ids are case-sensitive")

            await #expect(throws: SubscriptionError.unknownPlan("gold")) {
                try await b.subscriptions.subscribe(customer: "beta", planCode: "gold", context: Self.ctx)
            }
            try await b.db.withConnection { try $0.execute("UPDATE plans SET active = \(false) WHERE code = \("enterprise")") }
            await #expect(throws: SubscriptionError.inactivePlan("enterprise")) {
                try await b.subscriptions.subscribe(customer: "beta", planCode: "enterprise", context: Self.ctx)
            }
            await #expect(throws: SubscriptionError.alreadySubscribed(customer: "acme", subscriptionID: sub.id)) {
                try await b.subscriptions.subscribe(customer: "acme", planCode: "pro", context: Self.ctx)
            }
            #expect(try await b.subscriptions.plans().map(\.code) == ["free", "starter", "pro"])
            #expect(try await b.subscriptions.plans(includeInactive: true).map(\.code) == ["free", "starter", "pro", "enterprise"])
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM customers WHERE external_id = \("beta")") == 0,
                    "a refused subscribe creates no customer")
            #expect(try await auditRows(b.db) == ["subscription.create": 1])
        }
    }

    @Test(arguments: Backend.allCases)
    func twentyConcurrentSubscribesMakeOneSubscription(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let outcomes = try await concurrently(20) { _ -> Int64? in
                do {
                    return try await b.subscriptions.subscribe(customer: "acme", planCode: "pro", context: Self.ctx).id
                } catch SubscriptionError.alreadySubscribed {
                    return nil
                }
            }
            #expect(outcomes.compactMap { $0 }.count == 1)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM subscriptions") == 1)
            #expect(try await auditRows(b.db) == ["subscription.create": 1])
        }
    }

    // MARK: Usage

    @Test(arguments: Backend.allCases)
    func fiftyConcurrentRecordingsFireEachAlertExactlyOnce(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            // free: limit 1,000. 50 × 25 = 1,250 crosses 800 and 1,000 while the calls overlap.
            let sub = try await b.subscriptions.subscribe(customer: "acme", planCode: "free", context: Self.ctx)
            let recordings = try await concurrently(50) { _ in
                try await b.usage.recordUsage(subscriptionID: sub.id, quantity: 25, context: Self.ctx)
            }
            let fired = recordings.flatMap(\.fired)
            #expect(fired.filter { $0 == .warning }.count == 1)
            #expect(fired.filter { $0 == .limit }.count == 1)
            // The call that fired 80 % saw 800…824 after its own 25; the one that fired 100 % saw 1,000…1,024.
            let warning = try #require(recordings.first { $0.fired.contains(.warning) })
            #expect((800..<825).contains(warning.metrics.used))
            let limit = try #require(recordings.first { $0.fired.contains(.limit) })
            #expect((1_000..<1_025).contains(limit.metrics.used))
            // Every call saw a distinct count: the counter serialised them.
            #expect(Set(recordings.map(\.metrics.used)).count == 50)

            let metrics = try await b.usage.usage(subscriptionID: sub.id)
            #expect(metrics.used == 1_250 && metrics.limit == 1_000)
            #expect(metrics.percentage == 100 && metrics.overLimit && metrics.remaining == 0)
            #expect(metrics.alerts.map(\.threshold) == [.warning, .limit])
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM usage_alerts WHERE threshold = \(80)") == 1)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM usage_alerts WHERE threshold = \(100)") == 1)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM usage_counters") == 1)
            #expect(try await auditRows(b.db) == ["subscription.create": 1, "usage.record": 50])
        }
    }

    @Test(arguments: Backend.allCases)
    func percentageIsBoundedAndAZeroLimitIsHandled(_ backend: Backend) async throws {
        // The rule without a database.
        #expect(UsageMetrics.percentage(used: 0, limit: 1_000) == 0)
        #expect(UsageMetrics.percentage(used: 250, limit: 1_000) == 25)
        #expect(UsageMetrics.percentage(used: 5_000, limit: 1_000) == 100)
        #expect(UsageMetrics.percentage(used: 0, limit: 0) == 0)
        #expect(UsageMetrics.percentage(used: 1, limit: 0) == 100)
        #expect(UsageMetrics.percentage(used: .max, limit: 1) == 100)
        #expect(!UsageThreshold.warning.isReached(used: 799, limit: 1_000) && UsageThreshold.warning.isReached(used: 800, limit: 1_000))
        #expect(!UsageThreshold.warning.isReached(used: 799, limit: 999) && UsageThreshold.warning.isReached(used: 800, limit: 999),
                "80 % of 999 is 799.2: 800 units reach it")
        #expect(UsageThreshold.limit.isReached(used: 1, limit: 1) && !UsageThreshold.warning.isReached(used: 0, limit: 1))
        #expect(!UsageThreshold.limit.isReached(used: 0, limit: 0) && UsageThreshold.limit.isReached(used: 1, limit: 0))
        #expect(UsageThreshold.limit.isReached(used: .max, limit: .max) && !UsageThreshold.limit.isReached(used: .max - 1, limit: .max))

        try await withBilling(backend) { b in
            try await insertPlan(b.db, code: "metered", usageLimit: 0, at: b.clock.now())
            let zero = try await b.subscriptions.subscribe(customer: "zero", planCode: "metered", context: Self.ctx)
            var m = try await b.usage.usage(subscriptionID: zero.id)
            #expect(m.used == 0 && m.limit == 0 && m.percentage == 0 && m.alerts.isEmpty)
            let first = try await b.usage.recordUsage(subscriptionID: zero.id, quantity: 1, context: Self.ctx)
            #expect(first.fired == [.warning, .limit])
            #expect(first.metrics.percentage == 100)
            #expect(try await b.usage.recordUsage(subscriptionID: zero.id, quantity: 1, context: Self.ctx).fired.isEmpty)

            let free = try await b.subscriptions.subscribe(customer: "acme", planCode: "free", context: Self.ctx)
            m = try await b.usage.usage(subscriptionID: free.id)
            #expect(m.percentage == 0 && m.remaining == 1_000)
            var r = try await b.usage.recordUsage(subscriptionID: free.id, quantity: 500, context: Self.ctx)
            #expect(r.metrics.percentage == 50 && r.fired.isEmpty)
            r = try await b.usage.recordUsage(subscriptionID: free.id, quantity: 1_000, context: Self.ctx)
            #expect(r.metrics.percentage == 100 && r.metrics.used == 1_500, "bounded, the count kept")
            #expect(r.fired == [.warning, .limit], "one recording can cross both thresholds")

            await #expect(throws: SubscriptionError.invalidQuantity(0)) {
                try await b.usage.recordUsage(subscriptionID: free.id, quantity: 0, context: Self.ctx)
            }
            await #expect(throws: SubscriptionError.unknownSubscription(999_999)) {
                try await b.usage.recordUsage(subscriptionID: 999_999, quantity: 1, context: Self.ctx)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aNewPeriodStartsAFreshCounterAndFreshAlerts(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let sub = try await b.subscriptions.subscribe(customer: "acme", planCode: "free", context: Self.ctx)
            #expect(try await b.usage.recordUsage(subscriptionID: sub.id, quantity: 900, context: Self.ctx).fired == [.warning])
            b.clock.advance(seconds: 40 * Self.day)   // 2026-02-10: the second period (1 Feb … 1 Mar)
            let before = try await b.usage.usage(subscriptionID: sub.id)
            #expect(before.used == 0 && before.alerts.isEmpty, "reading shows the new period before any recording")
            #expect(before.periodStart == SQLTimestamp(parsing: "2026-02-01 00:00:00"))
            let r = try await b.usage.recordUsage(subscriptionID: sub.id, quantity: 850, context: Self.ctx)
            #expect(r.fired == [.warning] && r.metrics.used == 850)
            #expect(r.metrics.periodStart == SQLTimestamp(parsing: "2026-02-01 00:00:00"))
            #expect(r.metrics.periodEnd == SQLTimestamp(parsing: "2026-03-01 00:00:00"))
            let stored = try #require(try await b.subscriptions.subscription(id: sub.id))
            #expect(stored.currentPeriodStart == r.metrics.periodStart && stored.currentPeriodEnd == r.metrics.periodEnd)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM usage_alerts WHERE threshold = \(80)") == 2)
        }
        let jan31 = try #require(SQLTimestamp(parsing: "2026-01-31 10:00:00.250000"))
        #expect(BillingInterval.month.advance(jan31, by: 1) == SQLTimestamp(parsing: "2026-02-28 10:00:00.250000"))
        #expect(BillingInterval.month.advance(jan31, by: 2) == SQLTimestamp(parsing: "2026-03-31 10:00:00.250000"))
        #expect(BillingInterval.year.advance(jan31, by: 1) == SQLTimestamp(parsing: "2027-01-31 10:00:00.250000"))
        let p = BillingInterval.month.period(containing: try #require(SQLTimestamp(parsing: "2027-03-01 00:00:00")), anchor: jan31)
        #expect(p.start == SQLTimestamp(parsing: "2027-02-28 10:00:00.250000") && p.end == SQLTimestamp(parsing: "2027-03-31 10:00:00.250000"))
    }

    // MARK: Grace periods

    @Test(arguments: Backend.allCases)
    func aGracePeriodOpensOnce(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let sub = try await b.subscriptions.subscribe(customer: "acme", planCode: "pro", context: Self.ctx)
            let first = try await b.grace.paymentFailed(customer: "acme", reason: "card_declined", context: Self.ctx)
            #expect(first.state == .open && first.subscriptionID == sub.id && first.reason == "card_declined")
            #expect(first.endsAt == first.startedAt.adding(seconds: 7 * Self.day))
            #expect(try await b.subscriptions.subscription(id: sub.id)?.state == .pastDue)
            b.clock.advance(seconds: 3600)
            let second = try await b.grace.paymentFailed(customer: "acme", reason: "insufficient_funds", context: Self.ctx)
            #expect(second == first, "a second failure neither opens another nor extends the first")

            // 20 failures at once for another customer: one open row, every caller gets it.
            _ = try await b.subscriptions.subscribe(customer: "beta", planCode: "pro", context: Self.ctx)
            let periods = try await concurrently(20) { i in
                try await b.grace.paymentFailed(customer: "beta", reason: "declined \(i)", context: Self.ctx)
            }
            #expect(Set(periods.map(\.id)).count == 1)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM grace_periods") == 2)
            #expect(try await auditRows(b.db) == ["subscription.create": 2, "grace.open": 2])

            await #expect(throws: GracePeriodError.unknownCustomer("nobody")) {
                try await b.grace.paymentFailed(customer: "nobody", reason: "x", context: Self.ctx)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func accessIsDecidedByDateBeforeAnySweep(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            _ = try await b.subscriptions.subscribe(customer: "acme", planCode: "pro", context: Self.ctx)
            #expect(try await b.grace.access(for: "acme") == .full)

            let period = try await b.grace.paymentFailed(customer: "acme", reason: "card_declined", context: Self.ctx)
            #expect(try await b.grace.access(for: "acme") == .grace(daysLeft: 7, endsAt: period.endsAt))
            b.clock.advance(seconds: 1.5 * Self.day)
            #expect(try await b.grace.access(for: "acme") == .grace(daysLeft: 6, endsAt: period.endsAt), "5.5 days round up")
            b.clock.set(period.endsAt.adding(microseconds: -1))
            #expect(try await b.grace.access(for: "acme") == .grace(daysLeft: 1, endsAt: period.endsAt))
            b.clock.set(period.endsAt)
            #expect(try await b.grace.access(for: "acme") == .restricted, "ended: restricted though no sweep ran")
            let status = try await b.grace.status(for: "acme")
            #expect(status.openPeriod?.id == period.id && status.subscription.state == .pastDue,
                    "the row is still open: the answer comes from the dates")

            // A failure now neither reopens nor extends the ended period.
            b.clock.advance(seconds: Self.day)
            #expect(try await b.grace.paymentFailed(customer: "acme", reason: "again", context: Self.ctx) == period)
            #expect(try await b.grace.access(for: "acme") == .restricted)

            #expect(try await b.grace.sweep(context: Self.sweeper).count == 1)
            #expect(try await b.grace.access(for: "acme") == .restricted)
            // Restricted: another failure opens no fresh grace, it returns the expired period.
            let again = try await b.grace.paymentFailed(customer: "acme", reason: "again", context: Self.ctx)
            #expect(again.id == period.id && again.state == .expired)
            #expect(try await b.grace.access(for: "acme") == .restricted)

            #expect(try await b.grace.paymentSucceeded(customer: "acme", context: Self.ctx) == nil)
            #expect(try await b.grace.access(for: "acme") == .full)
            try await b.db.transaction { conn in _ = try Customers.ensure(conn, externalID: "nosub", at: b.clock.now()) }
            await #expect(throws: GracePeriodError.noSubscription(customer: "nosub")) {
                try await b.grace.access(for: "nosub")
            }
        }
        // The rule on its own.
        let now = SQLTimestamp(microsecondsSinceEpoch: 0)
        #expect(BillingAccess.decide(subscriptionState: .active, openGraceEndsAt: nil, now: now) == .full)
        #expect(BillingAccess.decide(subscriptionState: .restricted, openGraceEndsAt: nil, now: now) == .restricted)
        #expect(BillingAccess.decide(subscriptionState: .pastDue, openGraceEndsAt: now.adding(seconds: 1), now: now)
                == .grace(daysLeft: 1, endsAt: now.adding(seconds: 1)))
        #expect(BillingAccess.decide(subscriptionState: .pastDue, openGraceEndsAt: now, now: now) == .restricted)
    }

    @Test(arguments: Backend.allCases)
    func sweepingTwiceIsSweepingOnce(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            for c in ["a", "b", "c"] {
                _ = try await b.subscriptions.subscribe(customer: c, planCode: "starter", context: Self.ctx)
            }
            _ = try await b.grace.paymentFailed(customer: "a", reason: "declined", context: Self.ctx)
            _ = try await b.grace.paymentFailed(customer: "b", reason: "declined", context: Self.ctx)
            b.clock.advance(seconds: 3 * Self.day)
            _ = try await b.grace.paymentFailed(customer: "c", reason: "declined", context: Self.ctx)
            #expect(try await b.grace.sweep(context: Self.sweeper).count == 0, "nothing ended yet")

            b.clock.advance(seconds: 5 * Self.day)   // a and b ended a day ago, c has 2 days left
            let first = try await b.grace.sweep(context: Self.sweeper)
            #expect(first.count == 2 && first.skipped == 0)
            #expect(first.expired.allSatisfy { $0.state == .expired && $0.expiredAt == b.clock.now() })
            let second = try await b.grace.sweep(context: Self.sweeper)
            #expect(second.count == 0 && second.skipped == 0)

            #expect(try await b.grace.access(for: "a") == .restricted)
            #expect(try await b.grace.status(for: "b").subscription.state == .restricted)
            #expect(try await b.grace.status(for: "c").access == .grace(daysLeft: 2, endsAt: b.clock.now().adding(seconds: 2 * Self.day)))
            #expect(try await count(b.db, """
                SELECT COUNT(*) AS n FROM grace_periods WHERE state = \("expired") AND open_subscription_id IS NULL AND expired_at IS NOT NULL
                """) == 2)
            #expect(try await auditRows(b.db)["grace.expire"] == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentSweepsExpireEachPeriodExactlyOnce(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let customers = (1...30).map { "cust-\($0)" }
            for c in customers {
                _ = try await b.subscriptions.subscribe(customer: c, planCode: "starter", context: Self.ctx)
                _ = try await b.grace.paymentFailed(customer: c, reason: "declined", context: Self.ctx)
            }
            b.clock.advance(seconds: 8 * Self.day)
            // Four machines' daily jobs at once, with a small batch so they page too.
            let reports = try await concurrently(4) { _ in try await b.grace.sweep(context: Self.sweeper, batchSize: 7) }
            #expect(reports.map(\.count).reduce(0, +) == 30)
            let expiredIDs = reports.flatMap { $0.expired.map(\.id) }
            #expect(Set(expiredIDs).count == 30, "no period expired by two sweeps")
            #expect(try await auditRows(b.db)["grace.expire"] == 30)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM grace_periods WHERE state = \("expired")") == 30)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM subscriptions WHERE state = \("restricted")") == 30)
            #expect(try await b.grace.sweep(context: Self.sweeper).count == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func aPaymentBeatsTheSweepInEitherOrder(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            // The payment commits first: resolved, and the sweep leaves it so.
            _ = try await b.subscriptions.subscribe(customer: "payer", planCode: "pro", context: Self.ctx)
            let p1 = try await b.grace.paymentFailed(customer: "payer", reason: "declined", context: Self.ctx)
            b.clock.advance(seconds: 8 * Self.day)
            #expect(try await b.grace.access(for: "payer") == .restricted)
            let resolved = try #require(try await b.grace.paymentSucceeded(customer: "payer", context: Self.ctx))
            #expect(resolved.id == p1.id && resolved.state == .resolved && resolved.resolvedAt == b.clock.now())
            #expect(try await b.grace.sweep(context: Self.sweeper).count == 0)
            #expect(try await periodState(b.db, p1.id) == "resolved")
            #expect(try await b.grace.access(for: "payer") == .full)
            #expect(try await b.grace.paymentSucceeded(customer: "payer", context: Self.ctx) == nil, "nothing left to resolve")

            // The sweep commits first: expired and restricted; the payment still restores the subscription.
            _ = try await b.subscriptions.subscribe(customer: "late", planCode: "pro", context: Self.ctx)
            let p2 = try await b.grace.paymentFailed(customer: "late", reason: "declined", context: Self.ctx)
            b.clock.advance(seconds: 8 * Self.day)
            #expect(try await b.grace.sweep(context: Self.sweeper).expired.map(\.id) == [p2.id])
            #expect(try await b.grace.access(for: "late") == .restricted)
            #expect(try await b.grace.paymentSucceeded(customer: "late", context: Self.ctx) == nil)
            #expect(try await periodState(b.db, p2.id) == "expired", "history is not rewritten")
            #expect(try await b.grace.status(for: "late").subscription.state == .active)
            #expect(try await b.grace.access(for: "late") == .full)

            #expect(try await auditRows(b.db) == ["subscription.create": 2, "grace.open": 2, "grace.resolve": 1,
                                                  "grace.expire": 1, "subscription.reactivate": 1])
        }
    }

    /// The interleavings the sequential orders cannot show, made deterministic: one side
    /// is a transaction of the test's own that holds the subscription's lock, makes the
    /// other side (the real service) wait for it, then commits what the first side would.
    @Test(arguments: Backend.allCases)
    func aPaymentLandingDuringASweepWinsInBothInterleavings(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            // The sweep has read the period as an ended candidate and waits for the subscription;
            // the payment commits meanwhile. The sweep must find it resolved and leave it so.
            let sub1 = try await b.subscriptions.subscribe(customer: "during-sweep", planCode: "pro", context: Self.ctx)
            let p1 = try await b.grace.paymentFailed(customer: "during-sweep", reason: "declined", context: Self.ctx)
            b.clock.advance(seconds: 8 * Self.day)
            let now = b.clock.now()
            let report = try await holdingSubscriptionLock(b.db, backend, subscriptionID: sub1.id, while: {
                try await b.grace.sweep(context: Self.sweeper)
            }, thenCommit: { conn in   // what paymentSucceeded writes
                try conn.execute("""
                    UPDATE grace_periods SET state = \("resolved"), resolved_at = \(now), open_subscription_id = NULL WHERE id = \(p1.id)
                    """)
                try conn.execute("UPDATE subscriptions SET state = \("active"), updated_at = \(now) WHERE id = \(sub1.id)")
            })
            #expect(report.count == 0 && report.skipped == 1, "the sweep saw the candidate, then found it resolved")
            #expect(try await periodState(b.db, p1.id) == "resolved")
            #expect(try await b.grace.access(for: "during-sweep") == .full)

            // The sweep's expiry holds the lock; the payment waits, then finds the period expired
            // and still makes the subscription active.
            let sub2 = try await b.subscriptions.subscribe(customer: "after-sweep", planCode: "pro", context: Self.ctx)
            let p2 = try await b.grace.paymentFailed(customer: "after-sweep", reason: "declined", context: Self.ctx)
            b.clock.advance(seconds: 8 * Self.day)
            let later = b.clock.now()
            let paid = try await holdingSubscriptionLock(b.db, backend, subscriptionID: sub2.id, while: {
                try await b.grace.paymentSucceeded(customer: "after-sweep", context: Self.ctx)
            }, thenCommit: { conn in   // what the sweep writes
                try conn.execute("""
                    UPDATE grace_periods SET state = \("expired"), expired_at = \(later), open_subscription_id = NULL WHERE id = \(p2.id)
                    """)
                try conn.execute("UPDATE subscriptions SET state = \("restricted"), updated_at = \(later) WHERE id = \(sub2.id)")
            })
            #expect(paid == nil, "no period was open once the payment got the lock")
            #expect(try await periodState(b.db, p2.id) == "expired")
            #expect(try await b.grace.status(for: "after-sweep").subscription.state == .active)
            #expect(try await b.grace.access(for: "after-sweep") == .full)

            let audit = try await auditRows(b.db)
            #expect(audit["grace.expire"] == nil && audit["grace.resolve"] == nil, "the services' losing sides wrote nothing")
            #expect(audit["subscription.reactivate"] == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func aPaymentRacingTheSweepAlwaysEndsWithFullAccess(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            var resolvedFirst = 0, sweptFirst = 0
            for round in 1...12 {
                let customer = "race-\(round)"
                _ = try await b.subscriptions.subscribe(customer: customer, planCode: "pro", context: Self.ctx)
                let period = try await b.grace.paymentFailed(customer: customer, reason: "declined", context: Self.ctx)
                b.clock.advance(seconds: 8 * Self.day)
                async let payment = b.grace.paymentSucceeded(customer: customer, context: Self.ctx)
                async let sweep = b.grace.sweep(context: Self.sweeper)
                let (paid, swept) = try await (payment, sweep)
                let state = try await periodState(b.db, period.id)
                if let paid {
                    // The payment committed first: resolved, and the sweep did not touch it.
                    #expect(paid.id == period.id && state == "resolved")
                    #expect(!swept.expired.contains { $0.id == period.id })
                    resolvedFirst += 1
                } else {
                    // The sweep committed first: expired, and the payment restored the subscription anyway.
                    #expect(state == "expired" && swept.expired.map(\.id) == [period.id])
                    sweptFirst += 1
                }
                #expect(try await b.grace.status(for: customer).subscription.state == .active)
                #expect(try await b.grace.access(for: customer) == .full)
            }
            #expect(resolvedFirst + sweptFirst == 12)
            // One audit row per committed change, whichever won.
            let audit = try await auditRows(b.db)
            #expect(audit["grace.resolve", default: 0] == resolvedFirst)
            #expect(audit["grace.expire", default: 0] == sweptFirst)
            #expect(audit["subscription.reactivate", default: 0] == sweptFirst)
        }
    }

    @Test(arguments: Backend.allCases)
    func auditRowsOnlyForCommittedWork(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let sub = try await b.subscriptions.subscribe(customer: "acme", planCode: "free", context: Self.ctx)
            let baseline = try await count(b.db, "SELECT COUNT(*) AS n FROM billing_audit")
            #expect(baseline == 1)

            // Refusals and failures, each inside its transaction: nothing written.
            await #expect(throws: SubscriptionError.self) {
                try await b.subscriptions.subscribe(customer: "acme", planCode: "nope", context: Self.ctx)
            }
            await #expect(throws: GracePeriodError.self) {
                try await b.grace.paymentSucceeded(customer: "ghost", context: Self.ctx)
            }
            // A reason too long for its column fails after the subscription was locked: rolled back whole.
            await #expect(throws: DatabaseError.self) {
                try await b.grace.paymentFailed(customer: "acme", reason: String(repeating: "x", count: 300), context: Self.ctx)
            }
            #expect(try await b.subscriptions.subscription(id: sub.id)?.state == .active)
            try await b.db.withConnection { try $0.execute("UPDATE subscriptions SET state = \("canceled") WHERE id = \(sub.id)") }
            await #expect(throws: SubscriptionError.subscriptionCanceled(sub.id)) {
                try await b.usage.recordUsage(subscriptionID: sub.id, quantity: 5, context: Self.ctx)
            }
            // No-ops: nothing to change, nothing written.
            _ = try await b.subscriptions.subscribe(customer: "fresh", planCode: "free", context: Self.ctx)
            #expect(try await b.grace.paymentSucceeded(customer: "fresh", context: Self.ctx) == nil)
            #expect(try await b.grace.sweep(context: Self.sweeper).count == 0)

            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM grace_periods") == 0)
            #expect(try await count(b.db, "SELECT COUNT(*) AS n FROM usage_counters") == 0)
            #expect(try await auditRows(b.db) == ["subscription.create": 2])
            let entries = try await AuditLog.query(b.db, subjectType: "subscription")
            #expect(entries.allSatisfy { $0.actor == "test:grace" && $0.requestID == "req-1" })
        }
    }

    // MARK: CLI

    @Test(arguments: Backend.allCases)
    func cliSubscribesRecordsUsageAndSweeps(_ backend: Backend) async throws {
        try await withBilling(backend) { b in
            let env = ["DATABASE_URL": b.url.urlString]
            var r = try await StrataCLI.run(["plans", "list", "--json"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect((r.json?["plans"] as? [[String: Any]])?.map { $0["code"] as? String } == ["free", "starter", "pro", "enterprise"])
            r = try await StrataCLI.run(["plans", "subscribe", "acme", "free", "--json", "--actor", "cli:tests"], environment: env)
            let sub = try #require(r.json?["subscription"] as? [String: Any], "\(r.stdout)\(r.stderr)")
            let subID = try #require(sub["id"] as? Int)
            #expect(sub["state"] as? String == "active")
            r = try await StrataCLI.run(["plans", "usage", "\(subID)", "--record", "850", "--json"], environment: env)
            #expect(r.json?["used"] as? Int == 850 && r.json?["fired"] as? [Int] == [80], "\(r.stdout)\(r.stderr)")
            #expect(r.json?["percentage"] as? Double == 85)
            r = try await StrataCLI.run(["plans", "usage", "\(subID)"], environment: env)
            #expect(r.stdout.contains("850 of 1000 used (85.0 %)"), "\(r.stdout)")
            r = try await StrataCLI.run(["plans", "subscribe", "acme", "gold"], environment: env)
            #expect(r.status == 1 && r.stderr == "strata: error: no plan has the code 'gold'\n")

            r = try await StrataCLI.run(["grace", "payment-failed", "acme", "--reason", "card_declined", "--days", "0", "--json"],
                                        environment: env)
            let period = try #require(r.json?["grace_period"] as? [String: Any], "\(r.stdout)\(r.stderr)")
            #expect(period["state"] as? String == "open" && period["reason"] as? String == "card_declined")
            r = try await StrataCLI.run(["grace", "status", "acme", "--json"], environment: env)
            #expect(r.json?["access"] as? String == "restricted", "a zero-day period has ended: \(r.stdout)\(r.stderr)")
            r = try await StrataCLI.run(["grace", "sweep", "--json"], environment: env)
            #expect(r.json?["expired"] as? Int == 1, "\(r.stdout)\(r.stderr)")
            r = try await StrataCLI.run(["grace", "sweep"], environment: env)
            #expect(r.status == 0 && r.stdout == "expired 0\n")
            r = try await StrataCLI.run(["grace", "payment-succeeded", "acme", "--json"], environment: env)
            #expect(r.json?["access"] as? String == "full" && r.json?["resolved"] is NSNull, "\(r.stdout)\(r.stderr)")
            r = try await StrataCLI.run(["grace", "status", "nobody"], environment: env)
            #expect(r.status == 1 && r.stderr.contains("no customer has the external id 'nobody'"))

            let audit = try await AuditLog.query(b.db, subjectType: "grace_period")
            #expect(audit.map(\.action) == ["grace.expire", "grace.open"])
            #expect(audit.first?.actor == "system:grace-sweep")
        }
    }
}

// MARK: Fixtures

/// The services over one fresh, migrated, seeded database, sharing one manual clock.
private struct Billing: Sendable {
    let db: Database
    let url: DatabaseURL
    let clock: ManualClock
    let subscriptions: SubscriptionService
    let usage: UsageService
    let grace: GracePeriodService
}

private func withBilling(_ backend: Backend, _ body: @escaping @Sendable (Billing) async throws -> Void) async throws {
    try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, url in
        let clock = ManualClock()
        let seededAt = clock.now()
        try await CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"),
                                  logger: TestLog.logger, clock: { seededAt }, appliedBy: "grace-tests").seed([.plans])
        try await body(Billing(
            db: db, url: url, clock: clock,
            subscriptions: SubscriptionService(database: db, clock: clock, logger: TestLog.logger),
            usage: UsageService(database: db, clock: clock, logger: TestLog.logger),
            grace: GracePeriodService(database: db, clock: clock, logger: TestLog.logger)))
    }
}

/// Runs `n` copies of `body` at once and returns their results in index order.
private func concurrently<T: Sendable>(_ n: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        for i in 0..<n { group.addTask { (i, try await body(i)) } }
        var results: [(Int, T)] = []
        for try await r in group { results.append(r) }
        return results.sorted { $0.0 < $1.0 }.map(\.1)
    }
}

private func count(_ db: Database, _ query: SQLQuery) async throws -> Int {
    try await db.withConnection { try #require(try $0.queryFirst(query)).decode("n") }
}

/// Audit rows by action.
private func auditRows(_ db: Database) async throws -> [String: Int] {
    try await db.withConnection { conn in
        var rows: [String: Int] = [:]
        for row in try conn.query("SELECT action, COUNT(*) AS n FROM billing_audit GROUP BY action") {
            rows[try row.decode("action")] = try row.decode("n")
        }
        return rows
    }
}

private func periodState(_ db: Database, _ id: Int64) async throws -> String {
    try await db.withConnection { try #require(try $0.queryFirst("SELECT state FROM grace_periods WHERE id = \(id)")).decode("state") }
}

/// Holds the subscription's row lock in a transaction of its own while `other` runs,
/// waits until `other` is blocked on that lock, then commits `write` and lets it go on.
private func holdingSubscriptionLock<T: Sendable>(
    _ db: Database, _ backend: Backend, subscriptionID: Int64,
    while other: @escaping @Sendable () async throws -> T,
    thenCommit write: @escaping @Sendable (any SQLConnection) throws -> Void
) async throws -> T {
    let locked = Flag()
    let release = DispatchSemaphore(value: 0)
    async let holder: Void = db.withConnection { conn in
        try conn.executeUnprepared("BEGIN")
        do {
            try conn.execute("SELECT id FROM subscriptions WHERE id = \(subscriptionID) FOR UPDATE")
            locked.set()
            // The connection's own thread waits here, not a task.
            guard release.wait(timeout: .now() + 60) == .success else { throw LockWaitTimeout() }
            try write(conn)
            try conn.executeUnprepared("COMMIT")
        } catch {
            _ = try? conn.executeUnprepared("ROLLBACK")
            throw error
        }
    }
    do {
        try await waitUntil { locked.isSet }
        async let result = other()
        do {
            try await waitUntil { try await lockWaits(db, backend) > 0 }
        } catch {
            release.signal()
            throw error
        }
        release.signal()
        try await holder
        return try await result
    } catch {
        release.signal()
        throw error
    }
}

/// Sessions of this database waiting for a row lock (while the test holds one).
private func lockWaits(_ db: Database, _ backend: Backend) async throws -> Int {
    let query: SQLQuery = switch backend {
    case .postgres:
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    case .mysql:
        // MariaDB lists a prepared statement that waits for a row lock while optimising
        // (state "Statistics") in the processlist but not in innodb_trx: look for a
        // FOR UPDATE still running in another session, which can only be waiting for the lock held.
        """
        SELECT COUNT(*) AS n FROM information_schema.processlist
        WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command IN ('Query', 'Execute') AND info LIKE '%FOR UPDATE%'
        """
    }
    return try await count(db, query)
}

private func waitUntil(_ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(20)
    while try await !condition() {
        guard ContinuousClock.now < deadline else { throw LockWaitTimeout() }
        try await Task.sleep(for: .milliseconds(5))
    }
}

private struct LockWaitTimeout: Error {}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

private func insertPlan(_ db: Database, code: String, usageLimit: Int64, at time: SQLTimestamp) async throws {
    try await db.withConnection { conn in
        try conn.execute("""
            INSERT INTO plans (code, name, price_minor, currency, billing_interval, included_credits, usage_limit,
                               features, active, created_at, updated_at)
            VALUES (\(code), \(code), \(Int64(0)), \("USD"), \("month"), \(Int64(0)), \(usageLimit),
                    \(SQLJSON("{}")), \(true), \(time), \(time))
            """)
    }
}
