import Foundation
import StrataSQL
import Testing

/// `Database.statistics`, the snapshot `GET /metrics` samples: leased, idle and waiting
/// counts as the pool goes from empty to full to drained and closed.
@Suite("Pool statistics")
struct PoolStatisticsTests {
    @Test(arguments: Backend.allCases)
    func statisticsFollowLeasesWaitersAndClose(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 2)
        #expect(db.statistics == PoolStatistics(inUse: 0, idle: 0, waiting: 0, maxConnections: 2))

        // Two leases held on their threads until `release` opens, then a third that must wait.
        let release = DispatchSemaphore(value: 0)
        let holders = (0..<2).map { _ in
            Task {
                try await db.withConnection { conn in
                    _ = try conn.queryFirst("SELECT 1 AS one")
                    _ = release.wait(timeout: .now() + 20)
                }
            }
        }
        try await Self.wait(until: { db.statistics.inUse == 2 })
        let waiter = Task { try await db.withConnection { conn in _ = try conn.queryFirst("SELECT 1 AS one") } }
        try await Self.wait(until: { db.statistics.waiting == 1 })
        #expect(db.statistics == PoolStatistics(inUse: 2, idle: 0, waiting: 1, maxConnections: 2))

        release.signal()
        release.signal()
        for holder in holders { try await holder.value }
        try await waiter.value
        #expect(db.statistics == PoolStatistics(inUse: 0, idle: 2, waiting: 0, maxConnections: 2))

        await db.close()
        #expect(db.statistics == PoolStatistics(inUse: 0, idle: 0, waiting: 0, maxConnections: 2))
    }

    /// Polls `condition` every 10 ms for at most 10 s.
    private static func wait(until condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw PoolNeverReached() }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private struct PoolNeverReached: Error {}
}
