import Foundation
import Synchronization
import StrataDrivers
import StrataSQL
import Testing

/// Where a test's tasks run: Swift's default executor, or the pool's (`Database.executor`).
enum TaskPlacement: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case defaultExecutor
    case poolExecutor

    var testDescription: String { rawValue }

    func executor(of db: Database) -> (any TaskExecutor)? {
        self == .poolExecutor ? db.executor : nil
    }
}

/// `Database.executor`: tasks that prefer it run their statements in place on the
/// connection's thread, wait and cancel as any task does, and outlive a closed database.
/// (Sharing a bounded pool is the conformance suite's `concurrentTasksShareABoundedPool`.)
@Suite("Database executor")
struct DatabaseExecutorTests {
    /// On the pool's executor the statement runs on the thread the task already runs on;
    /// on the default executor it never runs on the task's own thread.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func statementsRunInPlaceOnlyOnThePoolsExecutor(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 2)
        let inPlace = try await Task(executorPreference: placement.executor(of: db)) {
            var inPlace = 0
            for _ in 0..<50 {
                let caller = pthread_self()
                let runner: pthread_t = try await db.withConnection { conn in
                    _ = try conn.queryFirst("SELECT \(1) AS one")
                    return pthread_self()
                }
                if pthread_equal(caller, runner) != 0 { inPlace += 1 }
            }
            return inPlace
        }.value
        #expect(inPlace == (placement == .poolExecutor ? 50 : 0))
        await db.close()
    }

    /// A task waiting for a connection can be cancelled; the one holding it is unharmed.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func aWaitingLeaseCanBeCancelled(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 1)
        // The holder keeps the one connection until the test lets go (60 s at most), so
        // nothing here depends on how fast a loaded machine runs the test.
        let holding = Atomic<Bool>(false), letGo = Atomic<Bool>(false)
        let holder = Task(executorPreference: placement.executor(of: db)) {
            try await db.withConnection { conn in
                _ = try conn.queryFirst("SELECT \(1) AS one")
                holding.store(true, ordering: .sequentiallyConsistent)
                let deadline = ContinuousClock.now + .seconds(60)
                while !letGo.load(ordering: .sequentiallyConsistent) && ContinuousClock.now < deadline {
                    usleep(1_000)
                }
                return letGo.load(ordering: .sequentiallyConsistent)
            }
        }
        while !holding.load(ordering: .sequentiallyConsistent) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let waiter = Task(executorPreference: placement.executor(of: db)) {
            try await db.withConnection { conn in try conn.queryFirst("SELECT \(2) AS two") }
        }
        try await Task.sleep(for: .milliseconds(50))
        waiter.cancel()
        let outcome = await waiter.result
        letGo.store(true, ordering: .sequentiallyConsistent)
        #expect(throws: CancellationError.self) { try outcome.get() }
        let heldUntilLetGo = try await holder.value
        #expect(heldUntilLetGo, "the cancelled waiter waited for the holder's connection")
        #expect(try await db.answersAQuery())
        await db.close()
    }

    /// A task cancelled before its lease never runs the closure, also when the lease
    /// would run in place (where MariaDB's leases install no cancellation handler); and
    /// the next task's statement runs as usual on the same connection.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func aCancelledTaskRunsNoStatement(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 1)
        #expect(try await db.answersAQuery())  // opens the connection, so a lease can run in place
        let ran = Atomic<Bool>(false)
        let outcome = await Task(executorPreference: placement.executor(of: db)) {
            _ = try await db.withConnection { try $0.queryFirst("SELECT 1 AS one") }  // in place from here on
            withUnsafeCurrentTask { $0?.cancel() }
            return try await db.withConnection { conn -> Int64? in
                ran.store(true, ordering: .sequentiallyConsistent)
                return try conn.queryFirst("SELECT 2 AS two")?.decode("two")
            }
        }.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        let closureRan = ran.load(ordering: .sequentiallyConsistent)
        #expect(!closureRan, "the closure ran for a cancelled task")
        #expect(try await db.answersAQuery())
        await db.close()
    }

    /// Closing the database fails later leases; a task on its executor goes on (on the
    /// global executor) instead of hanging.
    @Test(arguments: Backend.allCases)
    func tasksOnTheExecutorOutliveAClosedDatabase(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 2)
        let category = try await Task(executorPreference: db.executor) { () -> DatabaseError.Category? in
            _ = try await db.withConnection { try $0.queryFirst("SELECT 1 AS one") }
            await db.close()
            try await Task.sleep(for: .milliseconds(10))
            do {
                _ = try await db.withConnection { try $0.queryFirst("SELECT 1 AS one") }
                return nil
            } catch let error as DatabaseError {
                return error.category
            }
        }.value
        #expect(category == .poolClosed)
    }

    /// A connection the server dropped is reported once and replaced on the same thread,
    /// so a task on the pool's executor keeps its place.
    @Test(arguments: Backend.allCases)
    func aLostConnectionIsReopenedInPlace(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let fixture = backend.fixture
        let killer = try backend.database(maxConnections: 1)
        let (before, after, lost) = try await Task(executorPreference: db.executor) {
            let victim: Int64 = try await db.withConnection { try $0.queryFirst(SQLQuery(unsafeSQL: fixture.sessionID))!.decode("id") }
            try await killer.withConnection { conn in try conn.executeUnprepared(fixture.kill(victim)) }
            try await Task.sleep(for: .milliseconds(200))
            let lost: DatabaseError? = try await db.withConnection { conn in
                do { _ = try conn.query("SELECT 1 AS one"); return nil } catch let e as DatabaseError { return e }
            }
            let fresh: Int64 = try await db.withConnection { try $0.queryFirst(SQLQuery(unsafeSQL: fixture.sessionID))!.decode("id") }
            return (victim, fresh, lost)
        }.value
        await killer.close()
        #expect(lost?.category == .connectionLost, "\(String(describing: lost))")
        #expect(before != after)
        await db.close()
    }
}
