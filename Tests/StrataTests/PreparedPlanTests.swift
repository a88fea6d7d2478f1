import Foundation
import StrataBilling
import StrataSQL
import Testing

/// PostgreSQL's prepared statements on a database whose tables grow under them.
struct PreparedPlanTests {
    /// A prepared statement is prepared again after 64 runs (then 256, 1,024 …), so a
    /// generic plan PostgreSQL made for young tables does not outlive their growth. On a
    /// freshly migrated database the charge's lock (`WalletLedger.lockForCharge`) gets a
    /// sequential scan of `credit_transactions`, which `strata serve` kept for every
    /// charge until autovacuum's first `ANALYZE` (see `PostgresConnection.PreparedStatement`).
    /// Autovacuum is off for the tables here, so nothing replans behind the test's back.
    @Test func postgresPreparesAStatementAgainAsItsTablesGrow() async throws {
        try await withFreshDatabase(.postgres, migrated: true, maxConnections: 1) { db, _ in
            let clock = SystemClock()
            let context = BillingContext(actor: "test:replan")
            try await db.withConnection { conn in
                for table in ["customers", "credit_wallets", "credit_transactions", "agent_costs"] {
                    try conn.executeUnprepared("ALTER TABLE \(table) SET (autovacuum_enabled = false)")
                }
                let now = clock.now()
                try conn.execute("""
                    INSERT INTO agent_costs (agent_key, display_name, credits_per_run, active, created_at, updated_at)
                    VALUES ('replan_agent', 'Replan agent', 1, TRUE, \(now), \(now))
                    """)
            }
            let wallets = WalletService(database: db, clock: clock, logger: TestLog.logger)
            for n in 1...20 {
                try await wallets.grant(customer: "c\(n)", credits: 1_000_000, reason: "test", context: context)
            }
            var charged = 0
            func charge(_ count: Int) async throws {
                for _ in 0..<count {
                    charged += 1
                    _ = try await wallets.charge(customer: "c\(charged % 20 + 1)", agentKey: "replan_agent",
                                                 runID: "run-\(charged)", context: context)
                }
            }
            // Through the one connection the pool has: its prepared statements.
            func lockStatements() async throws -> [String] {
                try await db.withConnection { conn in
                    try conn.query("""
                        SELECT name FROM pg_prepared_statements WHERE statement LIKE '%LEFT JOIN credit_transactions e%'
                        """).map { try $0.decode("name") }
                }
            }
            func plan(_ name: String) async throws -> String {
                try await db.withConnection { conn in
                    try conn.query("EXPLAIN EXECUTE \(unsafeRaw: name)('replan_agent', 'run-x', 'c7')")
                        .map { try $0.decode("QUERY PLAN", as: String.self) }.joined(separator: "\n")
                }
            }
            try await charge(10)
            let young = try #require(try await lockStatements().first)
            #expect(try await plan(young).contains("Seq Scan on credit_transactions e"), "the young tables' generic plan")
            try await charge(2_000)
            let grown = try await lockStatements()
            #expect(grown.count == 1 && grown.first != young, "prepared again, the old one dropped: \(grown)")
            let replanned = try await plan(try #require(grown.first))
            #expect(replanned.contains("Index Scan using uq_credit_transactions_wallet_run_kind"), "\(replanned)")
            #expect(!replanned.contains("Seq Scan on credit_transactions"), "\(replanned)")
        }
    }
}
