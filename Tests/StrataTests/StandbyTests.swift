import Foundation
import StrataBilling
import StrataSeeds
import StrataSQL
import Testing

/// The services beside a PostgreSQL hot standby (issue 17, item 6), the real one that
/// `scripts/cluster start standby` makes with `pg_basebackup -R`: it lags its primary and
/// refuses writes.
@Suite("Cluster services: hot standby")
struct StandbyTests {
    // MARK: PostgreSQL hot standby

    /// With a standby configured, a charge followed at once by a balance read always sees
    /// the charge (the read goes to the primary), while the catalogue is read from the
    /// standby, which really is one.
    @Test func aChargeIsAlwaysSeenByTheBalanceReadThatFollowsIt() async throws {
        try await withFreshDatabase(.postgres, migrated: true, maxConnections: 1) { _, url in
            let db = Database(url: url, maxConnections: 4, replica: try Cluster.standby(database: url.database),
                              logger: TestLog.logger)
            let outcome: Result<Void, any Error>
            do {
                try await Cluster.addAgent(db, key: "standby_agent", cost: 2)
                // The standby replays the new database and its rows a little later: once it
                // has replayed the primary's WAL up to here, the catalogue read from it must
                // show the agent. (Bounded generously: a standby replaying a busy primary's
                // WAL on a small machine can be seconds behind.)
                let written: String = try await db.withConnection {
                    try $0.queryFirst("SELECT pg_current_wal_lsn()::text AS lsn")!.decode("lsn")
                }
                let deadline = ContinuousClock.now + .seconds(120)
                var recovering = false, replayed = false
                while ContinuousClock.now < deadline {
                    let seen = try? await db.replica!.withConnection { conn -> (Bool, Bool) in
                        let row = try conn.queryFirst("SELECT pg_is_in_recovery() AS r, pg_last_wal_replay_lsn() >= \(written)::pg_lsn AS done")!
                        return (try row.decode("r"), try row.decode("done"))
                    }
                    if let seen { (recovering, replayed) = seen }
                    if recovering && replayed { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(replayed, "the standby replayed the primary's WAL up to \(written) within 120 s")
                let agents = try await AgentCatalogue(database: db).list()
                #expect(recovering, "the replica is a standby in recovery")
                #expect(agents.map(\.key) == ["standby_agent"], "the catalogue read from the standby")
                let wallets = WalletService(database: db, logger: TestLog.logger)
                try await wallets.grant(customer: "s-wallet", credits: 1_000, reason: "standby test", context: Cluster.context)
                for i in 0..<200 {
                    try await wallets.charge(customer: "s-wallet", agentKey: "standby_agent", runID: "s-run-\(i)", context: Cluster.context)
                    let seen = try await wallets.balance(customer: "s-wallet")
                    #expect(seen == 1_000 - Int64(i + 1) * 2, "charge \(i + 1): the balance read saw \(seen)")
                    if seen != 1_000 - Int64(i + 1) * 2 { break }
                }
                outcome = .success(())
            } catch {
                outcome = .failure(error)
            }
            await db.close()
            try outcome.get()
        }
    }
}
