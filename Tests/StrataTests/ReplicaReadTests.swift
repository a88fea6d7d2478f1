import Foundation
import StrataSQL
import Testing

/// `Database.withReplicaConnection`: the reads that tolerate a standby's lag go to the
/// replica; everything else, and every read when the replica cannot be reached, to the
/// primary. Here the "replica" is another database on the same server, whose name shows
/// where a statement ran; the real hot standby is `scripts/cluster`'s.
@Suite("Replica reads")
struct ReplicaReadTests {
    private static func currentDatabase(_ backend: Backend) -> SQLQuery {
        backend == .postgres ? "SELECT current_database() AS name" : "SELECT DATABASE() AS name"
    }

    @Test(arguments: Backend.allCases)
    func lagTolerantReadsGoToTheReplicaAndTheRestToThePrimary(_ backend: Backend) async throws {
        let primary = try backend.url()
        let replica = try backend.url(database: "strata_scratch")
        let db = Database(url: primary, maxConnections: 2, replica: replica, logger: TestLog.logger)
        let sql = Self.currentDatabase(backend)
        let onReplica: String? = try await db.withReplicaConnection { try $0.queryFirst(sql)?.decode("name") }
        let onPrimary: String? = try await db.withConnection { try $0.queryFirst(sql)?.decode("name") }
        let inTransaction: String? = try await db.transaction { try $0.queryFirst(sql)?.decode("name") }
        #expect(onReplica == "strata_scratch")
        #expect(onPrimary == primary.database && inTransaction == primary.database)
        await db.close()
        #expect(db.replica?.statistics.idle == 0, "closing the database closes the replica's pool too")
    }

    @Test(arguments: Backend.allCases)
    func anUnreachableReplicaSendsTheReadToThePrimary(_ backend: Backend) async throws {
        let primary = try backend.url()
        // A loopback port nothing listens on: the connection is refused at once.
        var replica = primary
        replica.port = 9
        let db = Database(url: primary, maxConnections: 2, replica: replica, logger: TestLog.logger)
        let sql = Self.currentDatabase(backend)
        let name: String? = try await db.withReplicaConnection { try $0.queryFirst(sql)?.decode("name") }
        #expect(name == primary.database)
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func aFailingReadOnTheReplicaIsNotRunAgainOnThePrimary(_ backend: Backend) async throws {
        let db = Database(url: try backend.url(), maxConnections: 2, replica: try backend.url(database: "strata_scratch"),
                          logger: TestLog.logger)
        let runs = Counter()
        await #expect(throws: DatabaseError.self) {
            try await db.withReplicaConnection { conn in
                runs.add()
                return try conn.queryFirst("SELECT no_such_column FROM no_such_table")
            }
        }
        #expect(runs.value == 1)
        await db.close()
    }

    @Test func theCLIRefusesAReplicaOfAnotherBackend() async throws {
        _ = try Backend.postgres.url()   // fails loudly without the test servers
        let result = try await StrataCLI.run(["agents", "list"], environment: [
            "DATABASE_URL": Self.rawURL(.postgres),
            "STRATA_REPLICA_URL": "mysql://strata:secret-pw@127.0.0.1:9/strata_test",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("STRATA_REPLICA_URL is a mysql URL; the database is postgres"), "\(result.stderr)")
        #expect(!result.stderr.contains("secret-pw") && !result.stdout.contains("secret-pw"))
    }

    private static func rawURL(_ backend: Backend) -> String {
        ProcessInfo.processInfo.environment[backend == .postgres ? "STRATA_TEST_POSTGRES_URL" : "STRATA_TEST_MYSQL_URL"] ?? ""
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }
}
