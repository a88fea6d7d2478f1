import Foundation
import StrataBilling
import StrataSeeds
import StrataSQL
import Testing

/// The reads the HTTP API needs beside the wallet's own: opening a wallet on first
/// sight, and the credit packages on sale.
@Suite("Wallet reads")
struct WalletReadTests {
    @Test(arguments: Backend.allCases)
    func openWalletCreatesOnceAtZeroWithoutLedgerOrAudit(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true, maxConnections: 6) { db, _ in
            let wallets = WalletService(database: db, logger: TestLog.logger)
            #expect(try await wallets.wallet(customer: "newcomer") == nil)
            // Racing first sights create one wallet.
            let opened = try await withThrowingTaskGroup(of: WalletSummary.self) { group in
                for _ in 0..<8 { group.addTask { try await wallets.openWallet(customer: "newcomer") } }
                return try await group.reduce(into: [WalletSummary]()) { $0.append($1) }
            }
            #expect(Set(opened.map(\.id)).count == 1)
            #expect(opened.allSatisfy { $0.balance == 0 && $0.lastSequence == 0 && $0.customer == "newcomer" })
            let counts: (wallets: Int64, rows: Int64, audit: Int64) = try await db.withConnection { conn in
                (try conn.queryFirst("SELECT COUNT(*) AS n FROM credit_wallets")!.decode("n"),
                 try conn.queryFirst("SELECT COUNT(*) AS n FROM credit_transactions")!.decode("n"),
                 try conn.queryFirst("SELECT COUNT(*) AS n FROM billing_audit")!.decode("n"))
            }
            #expect(counts.wallets == 1 && counts.rows == 0 && counts.audit == 0)
            // An existing wallet is returned as it stands.
            try await wallets.grant(customer: "newcomer", credits: 70, reason: "welcome", context: .system)
            let again = try await wallets.openWallet(customer: "newcomer")
            #expect(again.id == opened[0].id && again.balance == 70)
            await #expect(throws: WalletError.self) { try await wallets.openWallet(customer: "") }
        }
    }

    @Test(arguments: Backend.allCases)
    func historyFiltersOneKindAndPagesItBySequence(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            try await CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"),
                                      logger: TestLog.logger).seed()
            let wallets = WalletService(database: db, logger: TestLog.logger)
            try await wallets.grant(customer: "kim", credits: 100, reason: "start", context: .system)
            try await wallets.purchase(customer: "kim", packageID: "credits_1000", paymentReference: "cs_1", context: .system)
            try await wallets.charge(customer: "kim", agentKey: "code_reviewer", runID: "r1", context: .system)
            try await wallets.purchase(customer: "kim", packageID: "credits_1000", paymentReference: "cs_2", context: .system)
            let purchases = try await wallets.history(customer: "kim", kind: .purchase)
            #expect(purchases.map(\.externalReference) == ["cs_2", "cs_1"])
            let older = try await wallets.history(customer: "kim", limit: 1, beforeSequence: purchases[0].sequence, kind: .purchase)
            #expect(older.map(\.externalReference) == ["cs_1"])
            #expect(try await wallets.history(customer: "kim", kind: .refund).isEmpty)
            #expect(try await wallets.history(customer: "kim").count == 4)
        }
    }

    @Test(arguments: Backend.allCases)
    func creditPackagesListTheSeedsCheapestFirst(_ backend: Backend) async throws {
        try await withFreshDatabase(backend, migrated: true) { db, _ in
            try await CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"),
                                      logger: TestLog.logger).seed()
            let catalogue = CreditPackageCatalogue(database: db)
            let all = try await catalogue.list()
            let seeds = try JSONSerialization.jsonObject(
                with: Data(contentsOf: projectRoot.appendingPathComponent("seeds/credit_packages.json"))) as! [[String: Any]]
            #expect(all.count == seeds.count && !all.isEmpty)
            #expect(all.map(\.priceMinor) == all.map(\.priceMinor).sorted())
            let first = try #require(all.first { $0.id == "credits_1000" })
            #expect(first.credits == 1000 && first.priceMinor == 1000 && first.currency == "USD"
                    && first.providerPriceID == "price_1000_credits" && first.active)
            try await db.withConnection { try $0.execute("UPDATE credit_packages SET active = \(false) WHERE package_id = 'credits_1000'") }
            let active = try await catalogue.list(includeInactive: false)
            #expect(active.count == all.count - 1 && !active.contains { $0.id == "credits_1000" })
        }
    }
}
