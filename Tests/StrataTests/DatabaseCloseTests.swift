import Foundation
import StrataSQL
import Testing

/// `Database.close()` returns only when no connection thread runs any more: a program
/// that exits right after it must not have threads still in libpq's or libmariadb's code
/// (or in their thread-local destructors) while its exit handlers free the libraries'
/// state. That race aborted `strata-bench driver` with a double free after its result.
@Suite("Database close")
struct DatabaseCloseTests {
    /// The kernel thread id of the calling thread, from `/proc/thread-self` (`PID/task/TID`).
    private static func currentThreadID() throws -> Int {
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
        guard let tid = link.split(separator: "/").last.flatMap({ Int($0) }) else {
            throw ThreadIDUnreadable(link: link)
        }
        return tid
    }

    private struct ThreadIDUnreadable: Error { var link: String }

    /// Whether the thread with this id still exists in this process.
    private static func threadExists(_ tid: Int) -> Bool {
        FileManager.default.fileExists(atPath: "/proc/self/task/\(tid)")
    }

    /// The thread ids of all `count` connection threads: `count` leases held at once,
    /// each on its own connection's thread.
    private static func connectionThreadIDs(_ db: Database, count: Int) async throws -> Set<Int> {
        let barrier = Barrier(count: count)
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await db.withConnection { conn in
                        _ = try conn.queryFirst("SELECT 1 AS one")
                        barrier.arriveAndWait(timeout: 10)
                        return try currentThreadID()
                    }
                }
            }
            var ids: Set<Int> = []
            for try await id in group { ids.insert(id) }
            return ids
        }
    }

    @Test(arguments: Backend.allCases)
    func closeReturnsWhenEveryConnectionThreadHasExited(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 4)
        let threads = try await Self.connectionThreadIDs(db, count: 4)
        #expect(threads.count == 4, "each lease ran on its own connection's thread")
        #expect(threads.allSatisfy(Self.threadExists))
        await db.close()
        let left = threads.filter(Self.threadExists)
        #expect(left.isEmpty, "threads \(left.sorted()) still ran when close returned")
    }

    /// A task on the pool's executor runs on a connection thread, which cannot wait for
    /// its own end: its close still returns, after every thread has gone, and so does a
    /// second close at the same time.
    @Test(arguments: Backend.allCases)
    func closeFromATaskOnThePoolsOwnThreadWaitsForEveryThread(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 3)
        let threads = try await Self.connectionThreadIDs(db, count: 3)
        let own = try await Task(executorPreference: db.executor) { () -> Int in
            let tid = try await db.withConnection { _ in try Self.currentThreadID() }
            async let first: Void = db.close()
            async let second: Void = db.close()
            _ = await (first, second)
            return tid
        }.value
        #expect(threads.contains(own), "the task ran its lease in place on one of the pool's threads")
        let left = threads.filter(Self.threadExists)
        #expect(left.isEmpty, "threads \(left.sorted()) still ran when close returned")
    }

    /// A command that returns closes its connections first: the server sees each session
    /// end with a goodbye, none abandoned by a process that exited under it.
    @Test func theCLIClosesItsConnectionsBeforeItExits() async throws {
        try await withFreshDatabase(.postgres) { db, url in
            for _ in 0..<6 {
                let r = try await StrataCLI.run(
                    ["migrate", "status", "--migrations", projectRoot.appendingPathComponent("migrations").path],
                    environment: ["DATABASE_URL": url.urlString])
                #expect(r.status == 0, "\(r.stderr)")
            }
            // The server counts an abandoned session when its backend exits, shortly
            // after the client went away.
            let deadline = ContinuousClock.now + .seconds(10)
            var others: Int64 = 1
            while others > 0 && ContinuousClock.now < deadline {
                others = try await db.withConnection {
                    try $0.queryFirst("""
                        SELECT COUNT(*) AS n FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                        """)!.decode("n")
                }
                if others > 0 { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(others == 0, "the CLI's sessions ended")
            let (sessions, abandoned): (Int64, Int64) = try await db.withConnection { conn in
                let row = try conn.queryFirst("""
                    SELECT sessions, sessions_abandoned FROM pg_stat_database WHERE datname = current_database()
                    """)!
                return (try row.decode("sessions"), try row.decode("sessions_abandoned"))
            }
            #expect(sessions >= 6, "the CLI's sessions are counted")
            #expect(abandoned == 0, "\(abandoned) of \(sessions) sessions ended without the client closing them")
        }
    }
}
