import Foundation
import StrataDrivers
import StrataSQL
import Testing

/// The billing schema refuses what must never be stored, on both backends: each check
/// is a real INSERT or UPDATE that the server rejects with the right error category.
@Suite("Billing schema constraints")
struct SchemaConstraintTests {
    static let now = SQLTimestamp(microsecondsSinceEpoch: 1_780_000_000_000_000)
    static let later = now.adding(seconds: 30 * 86_400)

    @Test(arguments: Backend.allCases)
    func walletBalanceNeverGoesNegative(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let customer = try await db.withConnection { try insertCustomer($0, "cus_wallet") }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO credit_wallets (customer_id, balance, created_at, updated_at)
                    VALUES (\(customer), \(Int64(-1)), \(Self.now), \(Self.now))
                    """)
            }
            let wallet = try await db.withConnection { conn in
                try conn.insertReturningID("""
                    INSERT INTO credit_wallets (customer_id, balance, created_at, updated_at)
                    VALUES (\(customer), \(Int64(10)), \(Self.now), \(Self.now))
                    """)
            }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("UPDATE credit_wallets SET balance = balance - \(Int64(11)) WHERE id = \(wallet)")
            }
            let balance = try await db.withConnection { conn in
                try conn.queryFirst("SELECT balance FROM credit_wallets WHERE id = \(wallet)")?.decode("balance", as: Int64.self)
            }
            #expect(balance == 10)
            // One wallet per customer.
            try await expectViolation(.uniqueViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO credit_wallets (customer_id, balance, created_at, updated_at)
                    VALUES (\(customer), \(Int64(0)), \(Self.now), \(Self.now))
                    """)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aWebhookEventIsStoredOnce(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            try await db.withConnection { try insertWebhook($0, provider: "stripe", eventID: "evt_1") }
            try await expectViolation(.uniqueViolation, db) { try insertWebhook($0, provider: "stripe", eventID: "evt_1") }
            // Event ids are case-sensitive, and unique per provider only.
            try await db.withConnection { try insertWebhook($0, provider: "stripe", eventID: "EVT_1") }
            try await db.withConnection { try insertWebhook($0, provider: "paddle", eventID: "evt_1") }
            let count = try await db.withConnection { conn in
                try conn.queryFirst("SELECT COUNT(*) AS n FROM webhook_events")?.decode("n", as: Int64.self)
            }
            #expect(count == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func aSubscriptionHasOneOpenGracePeriodAtMost(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let (customer, subscription) = try await db.withConnection { conn in
                let customer = try insertCustomer(conn, "cus_grace")
                return (customer, try insertSubscription(conn, customer: customer, plan: try insertPlan(conn, "grace")))
            }
            let first = try await db.withConnection { try openGracePeriod($0, customer: customer, subscription: subscription) }
            try await expectViolation(.uniqueViolation, db) {
                try openGracePeriod($0, customer: customer, subscription: subscription)
            }
            // An open period must carry its subscription in open_subscription_id.
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO grace_periods (customer_id, subscription_id, reason, started_at, ends_at, state, open_subscription_id)
                    VALUES (\(customer), \(subscription), 'payment failed', \(Self.now), \(Self.later), 'open', \(Int64?.none))
                    """)
            }
            // Once resolved, the next failure may open a new one.
            try await db.withConnection { conn in
                try conn.execute("""
                    UPDATE grace_periods SET state = 'resolved', resolved_at = \(Self.later), open_subscription_id = \(Int64?.none)
                    WHERE id = \(first)
                    """)
            }
            try await db.withConnection { try openGracePeriod($0, customer: customer, subscription: subscription) }
        }
    }

    @Test(arguments: Backend.allCases)
    func aBadStateIsRefused(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let (customer, plan) = try await db.withConnection { conn in
                (try insertCustomer(conn, "cus_state"), try insertPlan(conn, "state"))
            }
            try await expectViolation(.checkViolation, db) {
                try insertSubscription($0, customer: customer, plan: plan, state: "paused")
            }
            let subscription = try await db.withConnection { try insertSubscription($0, customer: customer, plan: plan) }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("UPDATE subscriptions SET state = 'suspended' WHERE id = \(subscription)")
            }
            try await expectViolation(.checkViolation, db) {
                try insertWebhook($0, provider: "stripe", eventID: "evt_state", state: "bogus")
            }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO grace_periods (customer_id, subscription_id, reason, started_at, ends_at, state, open_subscription_id)
                    VALUES (\(customer), \(subscription), 'payment failed', \(Self.now), \(Self.later), 'pending', \(Int64?.none))
                    """)
            }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO idempotency_keys (scope, idempotency_key, request_fingerprint, state, expires_at, created_at)
                    VALUES ('charge', 'k1', 'f1', 'done', \(Self.later), \(Self.now))
                    """)
            }
            try await expectViolation(.checkViolation, db) { conn in
                try conn.execute("""
                    INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at)
                    VALUES ('free_agent', 'Free Agent', \(Int64(0)), \(true), \(Self.now), \(Self.now))
                    """)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aSubscriptionNeedsAKnownPlan(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            let (customer, plan) = try await db.withConnection { conn in
                (try insertCustomer(conn, "cus_plan"), try insertPlan(conn, "known"))
            }
            try await expectViolation(.foreignKeyViolation, db) {
                try insertSubscription($0, customer: customer, plan: plan + 1_000_000)
            }
            try await db.withConnection { try insertSubscription($0, customer: customer, plan: plan) }
            // A plan in use cannot be deleted: it is deactivated instead.
            try await expectViolation(.foreignKeyViolation, db) { conn in
                try conn.execute("DELETE FROM plans WHERE id = \(plan)")
            }
        }
    }
}

/// Runs `body` on its own connection and expects the server to refuse it with `category`.
private func expectViolation(_ category: DatabaseError.Category, _ db: Database,
                             sourceLocation: SourceLocation = #_sourceLocation,
                             _ body: @escaping @Sendable (any SQLConnection) throws -> Void) async throws {
    let error = await #expect(throws: DatabaseError.self, sourceLocation: sourceLocation) {
        try await db.withConnection(body)
    }
    #expect(error?.category == category, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
}

@discardableResult
private func insertCustomer(_ conn: any SQLConnection, _ externalID: String) throws -> Int64 {
    try conn.insertReturningID("""
        INSERT INTO customers (external_id, email, created_at, updated_at)
        VALUES (\(externalID), \(externalID + "@example.com"), \(SchemaConstraintTests.now), \(SchemaConstraintTests.now))
        """)
}

private func insertPlan(_ conn: any SQLConnection, _ code: String) throws -> Int64 {
    try conn.insertReturningID("""
        INSERT INTO plans (code, name, price_minor, currency, billing_interval, included_credits, usage_limit,
            features, active, created_at, updated_at)
        VALUES (\(code), \(code), \(Int64(1900)), 'USD', 'month', \(Int64(5000)), \(Int64(10000)),
            \(SQLJSON(#"{"seats": 3}"#)), \(true), \(SchemaConstraintTests.now), \(SchemaConstraintTests.now))
        """)
}

@discardableResult
private func insertSubscription(_ conn: any SQLConnection, customer: Int64, plan: Int64,
                                state: String = "active") throws -> Int64 {
    try conn.insertReturningID("""
        INSERT INTO subscriptions (customer_id, plan_id, state, current_period_start, current_period_end,
            created_at, updated_at)
        VALUES (\(customer), \(plan), \(state), \(SchemaConstraintTests.now), \(SchemaConstraintTests.later),
            \(SchemaConstraintTests.now), \(SchemaConstraintTests.now))
        """)
}

@discardableResult
private func openGracePeriod(_ conn: any SQLConnection, customer: Int64, subscription: Int64) throws -> Int64 {
    try conn.insertReturningID("""
        INSERT INTO grace_periods (customer_id, subscription_id, reason, started_at, ends_at, state, open_subscription_id)
        VALUES (\(customer), \(subscription), 'payment failed', \(SchemaConstraintTests.now),
            \(SchemaConstraintTests.later), 'open', \(subscription))
        """)
}

private func insertWebhook(_ conn: any SQLConnection, provider: String, eventID: String, state: String = "pending") throws {
    try conn.execute("""
        INSERT INTO webhook_events (provider, event_id, event_type, payload, state, attempts, next_attempt_at,
            received_at, updated_at)
        VALUES (\(provider), \(eventID), 'invoice.payment_failed', \(SQLJSON(#"{"id": "x"}"#)), \(state), \(Int32(0)),
            \(SchemaConstraintTests.now), \(SchemaConstraintTests.now), \(SchemaConstraintTests.now))
        """)
}
