import Foundation
import StrataSQL
import Testing

/// Every error category comes from a real statement on a real server.
@Suite("Driver errors")
struct DriverErrorTests {
    private func category(_ backend: Backend, setup: [String] = [], teardown: [String] = [],
                          _ statement: @escaping @Sendable (any SQLConnection) throws -> Void) async throws -> DatabaseError? {
        let db = try backend.database(maxConnections: 1)
        defer { Task { await db.close() } }
        return try await db.withConnection { conn in
            for s in setup { try conn.executeUnprepared(s) }
            defer { for s in teardown { _ = try? conn.executeUnprepared(s) } }
            do {
                try statement(conn)
                return nil
            } catch let error as DatabaseError {
                return error
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func constraintViolations(_ backend: Backend) async throws {
        let parent = uniqueName("parent"), child = uniqueName("child")
        let setup = [
            "CREATE TABLE \(parent) (id INT PRIMARY KEY, n INT NOT NULL, CONSTRAINT ck_\(parent) CHECK (n >= 0))",
            "CREATE TABLE \(child) (id INT PRIMARY KEY, parent_id INT NOT NULL, CONSTRAINT fk_\(child) FOREIGN KEY (parent_id) REFERENCES \(parent) (id))",
            "INSERT INTO \(parent) (id, n) VALUES (1, 1)",
        ]
        let teardown = ["DROP TABLE \(child)", "DROP TABLE \(parent)"]
        let cases: [(DatabaseError.Category, String)] = [
            (.uniqueViolation, "INSERT INTO \(parent) (id, n) VALUES (1, 2)"),
            (.checkViolation, "INSERT INTO \(parent) (id, n) VALUES (2, -1)"),
            (.notNullViolation, "INSERT INTO \(parent) (id, n) VALUES (3, NULL)"),
            (.foreignKeyViolation, "INSERT INTO \(child) (id, parent_id) VALUES (1, 99)"),
            (.syntax, "SELEC 1"),
            (.undefinedTable, "SELECT * FROM no_such_table_here"),
            (.undefinedColumn, "SELECT no_such_column FROM \(parent)"),
            (.duplicateObject, "CREATE TABLE \(parent) (id INT)"),
            (.duplicateObject, "ALTER TABLE \(parent) ADD COLUMN n INT"),
        ]
        let results = try await category(backend, setup: setup, teardown: teardown) { conn in
            for (expected, sql) in cases {
                do {
                    // Through binds too, so both protocols map errors the same way.
                    try conn.execute(SQLQuery(unsafeSQL: sql))
                    Issue.record("\(sql) did not fail")
                } catch let error as DatabaseError {
                    #expect(error.category == expected, "\(sql) → \(error)")
                    #expect(error.code != nil)
                    #expect(error.sql == sql)
                }
            }
        }
        #expect(results == nil)
    }

    @Test(arguments: Backend.allCases)
    func deadlockIsDetectedAndRetried(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 4)
        let table = uniqueName("dl")
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, n INT NOT NULL)")
            try conn.executeUnprepared("INSERT INTO \(table) (id, n) VALUES (1, 0), (2, 0)")
        }
        // Two transactions lock the rows in opposite order; the server breaks the cycle.
        let barrier = Barrier(count: 2)
        let attempts = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (first, second) in [(1, 2), (2, 1)] {
                group.addTask {
                    try await db.transaction { conn in
                        attempts.increment()
                        try conn.execute("UPDATE \(identifier: table) SET n = n + 1 WHERE id = \(first)")
                        barrier.arriveAndWait(timeout: 20)
                        try conn.execute("UPDATE \(identifier: table) SET n = n + 1 WHERE id = \(second)")
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(attempts.value >= 3, "one transaction was retried after the deadlock")
        let total: Int64 = try await db.withConnection { try $0.queryFirst("SELECT SUM(n) AS s FROM \(identifier: table)")!.decode("s") }
        #expect(total == 4)
        try await db.withConnection { try $0.executeUnprepared("DROP TABLE \(table)") }
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func deadlockCategoryWithoutRetry(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 4)
        let table = uniqueName("dl2")
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, n INT NOT NULL)")
            try conn.executeUnprepared("INSERT INTO \(table) (id, n) VALUES (1, 0), (2, 0)")
        }
        let barrier = Barrier(count: 2)
        let errors = try await withThrowingTaskGroup(of: DatabaseError?.self) { group in
            for (first, second) in [(1, 2), (2, 1)] {
                group.addTask {
                    try await db.withConnection { conn in
                        try conn.executeUnprepared("BEGIN")
                        defer { _ = try? conn.executeUnprepared("ROLLBACK") }
                        do {
                            try conn.execute("UPDATE \(identifier: table) SET n = n + 1 WHERE id = \(first)")
                            barrier.arriveAndWait(timeout: 20)
                            try conn.execute("UPDATE \(identifier: table) SET n = n + 1 WHERE id = \(second)")
                            return nil
                        } catch let e as DatabaseError { return e }
                    }
                }
            }
            var all: [DatabaseError] = []
            for try await e in group { if let e { all.append(e) } }
            return all
        }
        #expect(errors.map(\.category) == [.deadlock])
        try await db.withConnection { try $0.executeUnprepared("DROP TABLE \(table)") }
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func lockTimeoutAndSerializationFailure(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 3)
        let table = uniqueName("lk")
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, n INT NOT NULL)")
            try conn.executeUnprepared("INSERT INTO \(table) (id, n) VALUES (1, 0)")
        }
        let holding = Barrier(count: 2), done = Barrier(count: 2)
        let fixture = backend.fixture
        async let holder: Void = db.withConnection { conn in
            try conn.executeUnprepared("BEGIN")
            try conn.execute("UPDATE \(identifier: table) SET n = 1 WHERE id = 1")
            holding.arriveAndWait(timeout: 60)
            done.arriveAndWait(timeout: 60)
            try conn.executeUnprepared("ROLLBACK")
        }
        let lockError: DatabaseError? = try await db.withConnection { conn in
            holding.arriveAndWait(timeout: 60)
            defer { done.arriveAndWait(timeout: 60) }
            try conn.executeUnprepared(fixture.shortLockTimeout)
            do {
                try conn.execute("UPDATE \(identifier: table) SET n = 2 WHERE id = 1")
                return nil
            } catch let e as DatabaseError { return e }
        }
        try await holder
        #expect(lockError?.category == .lockTimeout, "\(String(describing: lockError))")

        // Two snapshot transactions write the same row: the second cannot serialize.
        let started = Barrier(count: 2), firstCommitted = Barrier(count: 2)
        async let first: Void = db.withConnection { conn in
            for statement in fixture.beginSnapshot { try conn.executeUnprepared(statement) }
            _ = try conn.query("SELECT n FROM \(identifier: table) WHERE id = 1")
            started.arriveAndWait(timeout: 60)
            try conn.execute("UPDATE \(identifier: table) SET n = 10 WHERE id = 1")
            try conn.executeUnprepared("COMMIT")
            firstCommitted.arriveAndWait(timeout: 60)
        }
        let serializationError: DatabaseError? = try await db.withConnection { conn in
            defer { _ = try? conn.executeUnprepared("ROLLBACK") }
            for statement in fixture.beginSnapshot { try conn.executeUnprepared(statement) }
            _ = try conn.query("SELECT n FROM \(identifier: table) WHERE id = 1")
            started.arriveAndWait(timeout: 60)
            firstCommitted.arriveAndWait(timeout: 60)
            do {
                try conn.execute("UPDATE \(identifier: table) SET n = 20 WHERE id = 1")
                return nil
            } catch let e as DatabaseError { return e }
        }
        try await first
        #expect(serializationError?.category == .serializationFailure, "\(String(describing: serializationError))")
        try await db.withConnection { try $0.executeUnprepared("DROP TABLE \(table)") }
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func lostConnectionIsReportedAndReplaced(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 2)
        let fixture = backend.fixture
        let victim: Int64 = try await db.withConnection { try $0.queryFirst(SQLQuery(unsafeSQL: fixture.sessionID))!.decode("id") }
        let killer = try backend.database(maxConnections: 1)
        try await killer.withConnection { conn in try conn.executeUnprepared(fixture.kill(victim)) }
        await killer.close()
        try await Task.sleep(for: .milliseconds(200))
        let error: DatabaseError? = try await db.withConnection { conn in
            do { _ = try conn.query("SELECT 1 AS one"); return nil } catch let e as DatabaseError { return e }
        }
        #expect(error?.category == .connectionLost, "\(String(describing: error))")
        // The broken connection left the pool; the next lease gets a fresh one.
        #expect(try await db.answersAQuery())
        await db.close()
    }
}

/// Lets N threads meet before they go on (connection threads block, so this blocks too).
final class Barrier: @unchecked Sendable {
    private let condition = NSCondition()
    private let count: Int
    private var arrived = 0

    init(count: Int) { self.count = count }

    func arriveAndWait(timeout: TimeInterval) {
        condition.lock()
        arrived += 1
        condition.broadcast()
        let deadline = Date().addingTimeInterval(timeout)
        while arrived < count && condition.wait(until: deadline) {}
        condition.unlock()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
