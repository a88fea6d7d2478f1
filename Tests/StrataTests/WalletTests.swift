import Foundation
import StrataBilling
import StrataDrivers
import StrataSeeds
import StrataSQL
import Testing

/// Wallets, the ledger, idempotency keys and the audit log, on both backends: concurrent
/// charges never overdraw, replays never charge twice, failures leave no trace.
@Suite("Wallets")
struct WalletTests {
    static let admin = BillingContext(actor: "admin:tests", requestID: "req-tests")
    static let reviewerCost: Int64 = 40   // code_reviewer in seeds/agent_costs.csv

    // MARK: Concurrency

    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func thousandConcurrentChargesNeverOverdraw(_ backend: Backend, _ placement: TaskPlacement) async throws {
        try await withWallets(backend) { wallets, db in
            let c = Self.reviewerCost
            let balance: Int64 = c * 600 + 25
            let attempts = 1_000
            let expected = min(attempts, Int(balance / c))
            try await wallets.grant(customer: "acme", credits: balance, reason: "load test", context: Self.admin)

            let started = ContinuousClock.now
            let outcomes = try await withThrowingTaskGroup(of: ChargeOutcome.self) { group in
                for i in 0..<attempts {
                    group.addTask(executorPreference: placement.executor(of: db)) {
                        do {
                            let receipt = try await wallets.charge(customer: "acme", agentKey: "code_reviewer",
                                                                   runID: "run-\(i)", context: Self.admin)
                            return receipt.isReplay ? .other("replay of run-\(i)") : .charged(receipt.transaction)
                        } catch WalletError.insufficientCredits(let balance, let required) {
                            return .insufficient(balance: balance, required: required)
                        } catch {
                            return .other("\(error)")
                        }
                    }
                }
                return try await group.reduce(into: [ChargeOutcome]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started

            let charged = outcomes.compactMap { if case .charged(let t) = $0 { t } else { nil } }
            let refused = outcomes.compactMap { if case .insufficient(let b, let r) = $0 { (b, r) } else { nil } }
            let others = outcomes.compactMap { if case .other(let e) = $0 { e } else { nil } }
            #expect(others.isEmpty, "unexpected outcomes: \(others.prefix(3))")
            #expect(charged.count == expected)
            #expect(refused.count == attempts - expected)
            #expect(refused.allSatisfy { $0.0 == balance - Int64(expected) * c && $0.1 == c },
                    "every refusal saw the final balance")
            #expect(charged.allSatisfy { $0.balanceAfter >= 0 && $0.amount == -c && $0.costPerRun == c })
            #expect(Set(charged.map(\.balanceAfter)).count == charged.count, "each charge saw its own balance")

            let final = try await wallets.balance(customer: "acme")
            #expect(final == balance - Int64(expected) * c)
            let report = try await wallets.verifyLedger(customer: "acme")
            #expect(report.isConsistent, "\(report.problems)")
            #expect(report.entries == expected + 1)

            let sequences = try await db.withConnection { conn in
                try conn.query("SELECT sequence FROM credit_transactions WHERE kind = 'charge' ORDER BY sequence")
                    .map { try $0.decode("sequence", as: Int64.self) }
            }
            #expect(sequences == Array(2...Int64(expected + 1)))
            #expect(try await auditCount(db, action: "wallet.charge") == expected)
            #expect(try await auditCount(db, action: "wallet.grant") == 1)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("wallet charges [\(backend), \(placement)]: \(charged.count) of \(attempts) succeeded, \(refused.count) refused, "
                  + "final balance \(final), \(String(format: "%.2f", seconds)) s (\(Int(Double(attempts) / seconds)) charges/s)")
        }
    }

    @Test(arguments: Backend.allCases)
    func sameIdempotencyKeyFiftyTimesAtOnceChargesOnce(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            try await wallets.grant(customer: "acme", credits: 1_000, reason: "setup", context: Self.admin)
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            let receipt = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                                                   context: Self.admin, idempotencyKey: "key-1")
                            return receipt.isReplay ? "replay:\(receipt.transaction.id)" : "charged:\(receipt.transaction.id)"
                        } catch IdempotencyError.inProgress {
                            return "in progress"
                        } catch {
                            return "error: \(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            let charged = outcomes.filter { $0.hasPrefix("charged:") }
            #expect(charged.count == 1, "\(outcomes)")
            let id = charged.first.map { String($0.dropFirst("charged:".count)) } ?? "?"
            #expect(outcomes.allSatisfy { $0 == "charged:\(id)" || $0 == "replay:\(id)" || $0 == "in progress" }, "\(outcomes)")
            #expect(try await wallets.balance(customer: "acme") == 1_000 - Self.reviewerCost)
            #expect(try await ledgerCount(db, kind: "charge") == 1)
            #expect(try await auditCount(db, action: "wallet.charge") == 1)

            // Once the first completed, every retry is a replay of it.
            let again = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                                 context: Self.admin, idempotencyKey: "key-1")
            #expect(again.isReplay && "\(again.transaction.id)" == id)
            #expect(try await auditCount(db, action: "wallet.charge") == 1)
            print("idempotency [\(backend)]: 1 charge, \(outcomes.filter { $0.hasPrefix("replay") }.count) replays, "
                  + "\(outcomes.filter { $0 == "in progress" }.count) in progress")
        }
    }

    @Test(arguments: Backend.allCases)
    func sameKeyForAnotherRequestIsAConflict(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            try await wallets.grant(customer: "acme", credits: 1_000, reason: "setup", context: Self.admin)
            let first = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                                 context: Self.admin, idempotencyKey: "k")
            await #expect(throws: IdempotencyError.conflict(scope: "wallet:acme", key: "k")) {
                try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-2",
                                         context: Self.admin, idempotencyKey: "k")
            }
            await #expect(throws: IdempotencyError.conflict(scope: "wallet:acme", key: "k")) {
                try await wallets.grant(customer: "acme", credits: 5, reason: "other", context: Self.admin, idempotencyKey: "k")
            }
            // Another wallet is another scope.
            try await wallets.grant(customer: "globex", credits: 5, reason: "other", context: Self.admin, idempotencyKey: "k")
            let replay = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                                  context: BillingContext(actor: "someone-else"), idempotencyKey: "k")
            #expect(replay.isReplay && replay.transaction == first.transaction)
            #expect(try await wallets.balance(customer: "acme") == 1_000 - Self.reviewerCost)
            #expect(try await auditCount(db, action: "wallet.charge") == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func sameRunIDChargesOnce(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            try await wallets.grant(customer: "acme", credits: 1_000, reason: "setup", context: Self.admin)
            let first = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1", context: Self.admin)
            let second = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1", context: Self.admin)
            #expect(!first.isReplay && second.isReplay && second.transaction == first.transaction)
            await #expect(throws: WalletError.runChargedForAnotherAgent(runID: "run-1", transactionID: first.transaction.id,
                                                                        agentKey: "code_reviewer")) {
                try await wallets.charge(customer: "acme", agentKey: "sql_optimizer", runID: "run-1", context: Self.admin)
            }
            // Twenty at once, no idempotency key: the run id alone charges once.
            let ids = try await withThrowingTaskGroup(of: WalletReceipt.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await wallets.charge(customer: "acme", agentKey: "test_writer", runID: "run-2", context: Self.admin)
                    }
                }
                return try await group.reduce(into: [WalletReceipt]()) { $0.append($1) }
            }
            #expect(ids.filter { !$0.isReplay }.count == 1)
            #expect(Set(ids.map(\.transaction.id)).count == 1)
            #expect(try await wallets.balance(customer: "acme") == 1_000 - 40 - 50)
            #expect(try await ledgerCount(db, kind: "charge") == 2)
            #expect(try await auditCount(db, action: "wallet.charge") == 2)
            #expect(try await wallets.verifyLedger(customer: "acme").isConsistent)
        }
    }

    // MARK: Refunds, agents, purchases

    @Test(arguments: Backend.allCases)
    func aChargeIsRefundedOnce(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            let grant = try await wallets.grant(customer: "acme", credits: 100, reason: "setup", context: Self.admin)
            let charge = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1", context: Self.admin)
            let refund = try await wallets.refund(transactionID: charge.transaction.id, reason: "agent crashed",
                                                  context: Self.admin, idempotencyKey: "refund-1")
            #expect(refund.transaction.kind == .refund && refund.transaction.amount == Self.reviewerCost)
            #expect(refund.transaction.refundedTransactionID == charge.transaction.id)
            #expect(refund.transaction.runID == "run-1" && refund.transaction.agentKey == "code_reviewer")
            #expect(refund.transaction.balanceAfter == 100 && refund.transaction.sequence == 3)

            let replay = try await wallets.refund(transactionID: charge.transaction.id, reason: "agent crashed",
                                                  context: Self.admin, idempotencyKey: "refund-1")
            #expect(replay.isReplay && replay.transaction == refund.transaction)
            await #expect(throws: WalletError.alreadyRefunded(transactionID: charge.transaction.id, refundID: refund.transaction.id)) {
                try await wallets.refund(transactionID: charge.transaction.id, context: Self.admin)
            }
            await #expect(throws: WalletError.notRefundable(transactionID: grant.transaction.id, kind: .grant)) {
                try await wallets.refund(transactionID: grant.transaction.id, context: Self.admin)
            }
            await #expect(throws: WalletError.notRefundable(transactionID: refund.transaction.id, kind: .refund)) {
                try await wallets.refund(transactionID: refund.transaction.id, context: Self.admin)
            }
            await #expect(throws: WalletError.transactionNotFound(999_999)) {
                try await wallets.refund(transactionID: 999_999, context: Self.admin)
            }
            // Ten refunds of another charge at once: one lands.
            let other = try await wallets.charge(customer: "acme", agentKey: "bug_triager", runID: "run-2", context: Self.admin)
            let results = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask { (try? await wallets.refund(transactionID: other.transaction.id, context: Self.admin)) != nil }
                }
                return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(results == 1)
            #expect(try await wallets.balance(customer: "acme") == 100)
            #expect(try await auditCount(db, action: "wallet.refund") == 2)
            #expect(try await wallets.verifyLedger(customer: "acme").isConsistent)
        }
    }

    @Test(arguments: Backend.allCases)
    func unknownAndInactiveAgentsAreRefused(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            await #expect(throws: WalletError.unknownAgent("no_such_agent")) {
                try await wallets.charge(customer: "newcomer", agentKey: "no_such_agent", runID: "run-1", context: Self.admin)
            }
            #expect(try await wallets.wallet(customer: "newcomer") == nil, "a refused charge creates no wallet")
            try await db.withConnection { conn in
                try conn.execute("UPDATE agent_costs SET active = \(false) WHERE agent_key = \("code_reviewer")")
            }
            try await wallets.grant(customer: "acme", credits: 100, reason: "setup", context: Self.admin)
            await #expect(throws: WalletError.inactiveAgent("code_reviewer")) {
                try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1", context: Self.admin)
            }
            #expect(try await wallets.balance(customer: "acme") == 100)
            #expect(try await auditCount(db, action: "wallet.charge") == 0)

            let agents = try await AgentCatalogue(database: db).list()
            #expect(agents.count == 22)
            #expect(agents.first { $0.key == "code_reviewer" } == AgentCost(key: "code_reviewer", displayName: "Code Reviewer",
                                                                               creditsPerRun: 40, active: false))
            #expect(try await AgentCatalogue(database: db).list(includeInactive: false).count == 21)

            // The cost is read at charge time and kept on the row.
            try await db.withConnection { conn in
                try conn.execute("UPDATE agent_costs SET credits_per_run = 33 WHERE agent_key = \("bug_triager")")
            }
            let charge = try await wallets.charge(customer: "acme", agentKey: "bug_triager", runID: "run-2", context: Self.admin)
            #expect(charge.transaction.costPerRun == 33 && charge.transaction.amount == -33)
        }
    }

    @Test(arguments: Backend.allCases)
    func aPaymentReferenceCreditsOnce(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            let results = try await withThrowingTaskGroup(of: WalletReceipt.self) { group in
                for i in 0..<10 {
                    group.addTask {
                        try await wallets.purchase(customer: "acme", packageID: "credits_1000", paymentReference: "cs_1",
                                                   context: BillingContext(actor: "webhook:stripe"),
                                                   idempotencyKey: i.isMultiple(of: 2) ? nil : "delivery-\(i)")
                    }
                }
                return try await group.reduce(into: [WalletReceipt]()) { $0.append($1) }
            }
            #expect(results.filter { !$0.isReplay }.count == 1)
            #expect(Set(results.map(\.transaction.id)).count == 1)
            #expect(results[0].transaction.externalReference == "cs_1" && results[0].transaction.kind == .purchase)
            #expect(try await wallets.balance(customer: "acme") == 1_000)
            #expect(try await auditCount(db, action: "wallet.purchase") == 1)

            await #expect(throws: WalletError.unknownPackage("credits_7")) {
                try await wallets.purchase(customer: "acme", packageID: "credits_7", paymentReference: "cs_2", context: Self.admin)
            }
            try await db.withConnection { conn in
                try conn.execute("UPDATE credit_packages SET active = \(false) WHERE package_id = \("credits_5000")")
            }
            await #expect(throws: WalletError.inactivePackage("credits_5000")) {
                try await wallets.purchase(customer: "acme", packageID: "credits_5000", paymentReference: "cs_3", context: Self.admin)
            }
            #expect(try await wallets.balance(customer: "acme") == 1_000)
            #expect(try await wallets.verifyLedger(customer: "acme").isConsistent)
        }
    }

    // MARK: Failures and the audit log

    @Test(arguments: Backend.allCases)
    func aFailedOperationLeavesNoTrace(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            await #expect(throws: WalletError.insufficientCredits(balance: 0, required: Self.reviewerCost)) {
                try await wallets.charge(customer: "newcomer", agentKey: "code_reviewer", runID: "run-1", context: Self.admin)
            }
            #expect(try await wallets.wallet(customer: "newcomer") == nil)
            let customers = try await db.withConnection { conn in
                try conn.queryFirst("SELECT COUNT(*) AS n FROM customers")!.decode("n", as: Int64.self)
            }
            #expect(customers == 0, "the customer created for the charge rolled back with it")

            try await wallets.grant(customer: "acme", credits: 30, reason: "setup", context: Self.admin)
            let auditBefore = try await auditCount(db, action: nil)
            await #expect(throws: WalletError.insufficientCredits(balance: 30, required: Self.reviewerCost)) {
                try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1", context: Self.admin,
                                         idempotencyKey: "retry-me")
            }
            #expect(try await auditCount(db, action: nil) == auditBefore)
            #expect(try await ledgerCount(db, kind: nil) == 1)
            let summary = try #require(try await wallets.wallet(customer: "acme"))
            #expect(summary.balance == 30 && summary.version == 1 && summary.lastSequence == 1)

            // The failed request released its key: the same request runs once credits arrive.
            try await wallets.grant(customer: "acme", credits: 10, reason: "top-up", context: Self.admin)
            let retry = try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                                 context: Self.admin, idempotencyKey: "retry-me")
            #expect(!retry.isReplay && retry.transaction.balanceAfter == 0)
            await #expect(throws: WalletError.invalidRequest("a grant needs a positive number of credits, not 0")) {
                try await wallets.grant(customer: "acme", credits: 0, reason: "nothing", context: Self.admin)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func auditQueriesBySubjectAndTimeRange(_ backend: Backend) async throws {
        let t0 = SQLTimestamp(microsecondsSinceEpoch: 1_780_000_000_000_000)
        let clock = ManualClock(t0)
        try await withWallets(backend, clock: clock) { wallets, db in
            try await wallets.grant(customer: "acme", credits: 100, reason: "setup",
                                    context: BillingContext(actor: "admin:alice", requestID: "req-1"))
            clock.advance(seconds: 60)
            try await wallets.charge(customer: "acme", agentKey: "code_reviewer", runID: "run-1",
                                     context: BillingContext(actor: "agent-runner", requestID: "req-2"))
            clock.advance(seconds: 60)
            try await wallets.grant(customer: "globex", credits: 5, reason: "setup", context: Self.admin)

            let acme = try await AuditLog.query(db, subjectType: "wallet", subjectID: "acme")
            #expect(acme.map(\.action) == ["wallet.charge", "wallet.grant"])
            #expect(acme.map(\.actor) == ["agent-runner", "admin:alice"])
            #expect(acme.map(\.requestID) == ["req-2", "req-1"])
            #expect(acme.map(\.occurredAt) == [t0.adding(seconds: 60), t0])
            let details = try JSONSerialization.jsonObject(with: Data(acme[0].details.utf8)) as? [String: Any]
            #expect(details?["agent_key"] as? String == "code_reviewer")
            #expect((details?["amount"] as? NSNumber)?.int64Value == -Self.reviewerCost)
            #expect((details?["cost_per_run"] as? NSNumber)?.int64Value == Self.reviewerCost)
            #expect(details?["run_id"] as? String == "run-1")

            let window = try await AuditLog.query(db, subjectType: "wallet", since: t0.adding(seconds: 30),
                                                  until: t0.adding(seconds: 120))
            #expect(window.map(\.action) == ["wallet.charge"])
            let since = try await AuditLog.query(db, since: t0.adding(seconds: 60))
            #expect(since.map(\.subjectID) == ["globex", "acme"])
            #expect(try await AuditLog.query(db, subjectType: "wallet", subjectID: "nobody").isEmpty)
        }
    }

    // MARK: Idempotency store, history, verification

    @Test(arguments: Backend.allCases)
    func anIdempotencyKeyLockExpiresAndIsTakenOver(_ backend: Backend) async throws {
        let clock = ManualClock()
        try await withWallets(backend, clock: clock) { wallets, db in
            let store = IdempotencyStore(database: db, clock: clock, logger: TestLog.logger, lockTimeout: 60)
            guard case .acquired(let first) = try await store.claim(scope: "s", key: "k", fingerprint: "f") else {
                Issue.record("a new key is acquired")
                return
            }
            await #expect(throws: IdempotencyError.inProgress(scope: "s", key: "k", lockedUntil: first.lockedAt.adding(seconds: 60))) {
                try await store.claim(scope: "s", key: "k", fingerprint: "f")
            }
            await #expect(throws: IdempotencyError.conflict(scope: "s", key: "k")) {
                try await store.claim(scope: "s", key: "k", fingerprint: "other")
            }
            clock.advance(seconds: 61)
            guard case .acquired(let second) = try await store.claim(scope: "s", key: "k", fingerprint: "f") else {
                Issue.record("an expired lock is taken over")
                return
            }
            #expect(second.id == first.id && second.lockedAt > first.lockedAt)
            await #expect(throws: IdempotencyError.lockLost(scope: "s", key: "k")) {
                try await db.transaction { conn in try store.complete(first, response: SQLJSON("{\"n\":1}"), on: conn) }
            }
            await store.release(first)   // not the holder any more: changes nothing
            try await db.transaction { conn in try store.complete(second, response: SQLJSON("{\"n\":2}"), on: conn) }
            guard case .completed(let response) = try await store.claim(scope: "s", key: "k", fingerprint: "f") else {
                Issue.record("a completed key replays")
                return
            }
            #expect(try response.decode([String: Int].self) == ["n": 2])

            guard case .acquired(let third) = try await store.claim(scope: "s", key: "k2", fingerprint: "f") else {
                Issue.record("a new key is acquired")
                return
            }
            await store.release(third)
            guard case .acquired = try await store.claim(scope: "s", key: "k2", fingerprint: "g") else {
                Issue.record("a released key is free again")
                return
            }
            await #expect(throws: IdempotencyError.invalidKey("")) {
                try await wallets.grant(customer: "acme", credits: 1, reason: "x", context: Self.admin, idempotencyKey: "")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func historyPagesAndVerificationFindsDamage(_ backend: Backend) async throws {
        try await withWallets(backend) { wallets, db in
            try await wallets.grant(customer: "acme", credits: 1_000, reason: "setup", context: Self.admin)
            for i in 1...5 {
                try await wallets.charge(customer: "acme", agentKey: "doc_writer", runID: "run-\(i)", context: Self.admin)
            }
            try await wallets.grant(customer: "globex", credits: 10, reason: "setup", context: Self.admin)
            let page1 = try await wallets.history(customer: "acme", limit: 4)
            #expect(page1.map(\.sequence) == [6, 5, 4, 3])
            #expect(page1.allSatisfy { $0.customer == "acme" && $0.kind == .charge && $0.costPerRun == 30 })
            let page2 = try await wallets.history(customer: "acme", limit: 4, beforeSequence: page1.last!.sequence)
            #expect(page2.map(\.sequence) == [2, 1] && page2.last?.kind == .grant && page2.last?.reason == "setup")
            #expect(try await wallets.history(customer: "nobody").isEmpty)
            #expect(try await wallets.balance(customer: "nobody") == 0)

            let before = try await wallets.verifyAll()
            #expect(before.map(\.customer) == ["acme", "globex"] && before.allSatisfy(\.isConsistent))
            #expect(before[0].balance == 850 && before[0].ledgerSum == 850 && before[0].entries == 6)
            await #expect(throws: WalletError.noWallet(customer: "nobody")) {
                try await wallets.verifyLedger(customer: "nobody")
            }

            try await db.withConnection { conn in
                try conn.execute("UPDATE credit_wallets SET balance = balance + 1 WHERE id = \(before[0].walletID)")
                try conn.execute("DELETE FROM credit_transactions WHERE wallet_id = \(before[0].walletID) AND sequence = 4")
            }
            let reports = try await wallets.verifyAll()
            #expect(!reports[0].isConsistent && reports[1].isConsistent)
            #expect(reports[0].problems.contains("sequence 4 is missing"), "\(reports[0].problems)")
            #expect(reports[0].problems.contains { $0.contains("the balance is 851") }, "\(reports[0].problems)")
        }
    }

    // MARK: CLI

    @Test(arguments: Backend.allCases)
    func cliChargesUntilInsufficientCredits(_ backend: Backend) async throws {
        try await withWallets(backend) { _, db, url in
            let env = ["DATABASE_URL": url.urlString]
            var r = try await StrataCLI.run(["wallet", "grant", "acme", "100", "--reason", "trial", "--actor", "cli:tests",
                                             "--request-id", "req-cli"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("granted 100 credits to acme"))
            // The actor and request id of the shared change options reach the audit log.
            let audit = try await AuditLog.query(db, subjectType: "wallet", subjectID: "acme")
            #expect(audit.map(\.actor) == ["cli:tests"] && audit.map(\.requestID) == ["req-cli"], "\(audit)")
            var charged = 0
            for i in 1...5 {
                r = try await StrataCLI.run(["wallet", "charge", "acme", "code_reviewer", "--run-id", "run-\(i)"], environment: env)
                if r.status != 0 { break }
                charged += 1
            }
            #expect(charged == 2)
            #expect(r.status == 7, "\(r.stderr)")
            #expect(r.stderr == "strata: error: insufficient credits: the balance is 20, the charge needs 40\n")
            #expect(r.stdout.isEmpty)

            r = try await StrataCLI.run(["wallet", "show", "acme", "--json"], environment: env)
            #expect(r.status == 0)
            #expect((r.json?["balance"] as? NSNumber)?.int64Value == 20)
            r = try await StrataCLI.run(["wallet", "verify", "--json"], environment: env)
            #expect(r.status == 0 && r.json?["ok"] as? Bool == true, "\(r.stdout)\(r.stderr)")
        }
    }

    @Test(arguments: Backend.allCases)
    func cliJSONOutputParses(_ backend: Backend) async throws {
        try await withWallets(backend) { _, _, url in
            let env = ["DATABASE_URL": url.urlString]
            var r = try await StrataCLI.run(["wallet", "grant", "acme", "100", "--reason", "trial", "--json",
                                             "--idempotency-key", "g-1", "--request-id", "req-9"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.json?["replay"] as? Bool == false)
            r = try await StrataCLI.run(["wallet", "grant", "acme", "100", "--reason", "trial", "--json",
                                         "--idempotency-key", "g-1"], environment: env)
            #expect(r.json?["replay"] as? Bool == true, "the same key replays")
            r = try await StrataCLI.run(["wallet", "charge", "acme", "sql_optimizer", "--run-id", "r1", "--json"], environment: env)
            let charge = try #require(r.json?["transaction"] as? [String: Any], "\(r.stdout)\(r.stderr)")
            #expect(charge["cost_per_run"] as? Int == 60 && charge["balance_after"] as? Int == 40 && charge["kind"] as? String == "charge")
            let chargeID = try #require(charge["id"] as? Int)
            r = try await StrataCLI.run(["wallet", "refund", "\(chargeID)", "--reason", "oops", "--json"], environment: env)
            #expect((r.json?["transaction"] as? [String: Any])?["refunded_transaction_id"] as? Int == chargeID)
            r = try await StrataCLI.run(["wallet", "refund", "\(chargeID)"], environment: env)
            #expect(r.status == 1 && r.stderr.contains("already refunded"))
            r = try await StrataCLI.run(["wallet", "history", "acme", "--limit", "2", "--json"], environment: env)
            let rows = try #require(r.json?["transactions"] as? [[String: Any]])
            #expect(rows.map { $0["sequence"] as? Int } == [3, 2] && r.json?["next_before"] as? Int == 2)
            r = try await StrataCLI.run(["agents", "list", "--json"], environment: env)
            #expect((r.json?["agents"] as? [[String: Any]])?.count == 22)
            r = try await StrataCLI.run(["audit", "--subject-type", "wallet", "--subject", "acme", "--json"], environment: env)
            let entries = try #require(r.json?["entries"] as? [[String: Any]], "\(r.stdout)\(r.stderr)")
            #expect(entries.map { $0["action"] as? String } == ["wallet.refund", "wallet.charge", "wallet.grant"])
            #expect(entries.last?["request_id"] as? String == "req-9")
            #expect((entries.last?["details"] as? [String: Any])?["reason"] as? String == "trial")
            r = try await StrataCLI.run(["audit", "--since", "yesterday"], environment: env)
            #expect(r.status == 64)
        }
    }
}

private enum ChargeOutcome: Sendable {
    case charged(WalletTransaction)
    case insufficient(balance: Int64, required: Int64)
    case other(String)
}

/// A fresh migrated database with the catalogue seeded, and a wallet service over it.
private func withWallets(_ backend: Backend, clock: any BillingClock = SystemClock(),
                         _ body: @escaping @Sendable (WalletService, Database) async throws -> Void) async throws {
    try await withWallets(backend, clock: clock) { wallets, db, _ in try await body(wallets, db) }
}

private func withWallets(_ backend: Backend, clock: any BillingClock = SystemClock(),
                         _ body: @escaping @Sendable (WalletService, Database, DatabaseURL) async throws -> Void) async throws {
    try await withFreshDatabase(backend, migrated: true, maxConnections: 8) { db, url in
        try await CatalogueSeeder(database: db, directory: projectRoot.appendingPathComponent("seeds"),
                                  logger: TestLog.logger).seed()
        try await body(WalletService(database: db, clock: clock, logger: TestLog.logger), db, url)
    }
}

private func auditCount(_ db: Database, action: String?) async throws -> Int {
    try await db.withConnection { conn in
        var q: SQLQuery = "SELECT COUNT(*) AS n FROM billing_audit"
        if let action { q.append(" WHERE action = \(action)") }
        return try conn.queryFirst(q)!.decode("n")
    }
}

private func ledgerCount(_ db: Database, kind: String?) async throws -> Int {
    try await db.withConnection { conn in
        var q: SQLQuery = "SELECT COUNT(*) AS n FROM credit_transactions"
        if let kind { q.append(" WHERE kind = \(kind)") }
        return try conn.queryFirst(q)!.decode("n")
    }
}
