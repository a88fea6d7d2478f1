import Foundation
import StrataSQL
import Testing

/// The driver contract, checked on both backends against real servers.
@Suite("Driver conformance")
struct DriverConformanceTests {
    /// Creates a one-column table of `type`, stores `value`, and reads it back.
    private func roundTrip(_ backend: Backend, type: String, _ value: SQLValue) async throws -> SQLValue {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("rt")
        defer { Task { await db.close() } }
        return try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, v \(type))")
            defer { _ = try? conn.executeUnprepared("DROP TABLE \(table)") }
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (1, \(value))")
            return try conn.queryFirst("SELECT v FROM \(identifier: table) WHERE id = 1")!["v"]!
        }
    }

    @Test(arguments: Backend.allCases)
    func integersRoundTrip(_ backend: Backend) async throws {
        for i: Int64 in [0, 1, -1, 42, Int64.max, Int64.min] {
            let v = try await roundTrip(backend, type: "BIGINT", .int(i))
            #expect(try Int64(sqlValue: v) == i)
        }
    }

    @Test(arguments: Backend.allCases)
    func nullRoundTrips(_ backend: Backend) async throws {
        for type in ["BIGINT", backend.fixture.textType, backend.fixture.bytesType, backend.fixture.timestampType] {
            let v = try await roundTrip(backend, type: type, .null)
            #expect(v.isNull, "NULL through \(type)")
        }
    }

    @Test(arguments: Backend.allCases)
    func booleansAndDoublesRoundTrip(_ backend: Backend) async throws {
        for b in [true, false] {
            #expect(try Bool(sqlValue: try await roundTrip(backend, type: "BOOLEAN", .bool(b))) == b)
        }
        for d in [0.0, -1.5, 3.141592653589793, 1e300, -2.2250738585072014e-308, 0.1] {
            #expect(try Double(sqlValue: try await roundTrip(backend, type: backend.fixture.doubleType, .double(d))) == d)
        }
        let dec = try await roundTrip(backend, type: "NUMERIC(30,6)", .decimal("12345678901234567890.123456"))
        #expect(try String(sqlValue: dec) == "12345678901234567890.123456")
    }

    @Test(arguments: Backend.allCases)
    func stringsRoundTrip(_ backend: Backend) async throws {
        let big = String(repeating: "abcdefghij", count: 104_858)  // ≈ 1 MiB
        for s in ["", "plain", "Grüße, 世界 🚀 — ‘quotes’ \"double\" \\ backslash", "line\nbreak\ttab", big] {
            let v = try await roundTrip(backend, type: backend.fixture.textType, .string(s))
            #expect(try String(sqlValue: v) == s)
        }
    }

    @Test(arguments: Backend.allCases)
    func bytesRoundTrip(_ backend: Backend) async throws {
        var big = [UInt8](repeating: 0, count: 1 << 20)
        for i in big.indices { big[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        for b in [[], [0, 1, 2, 255, 0, 39, 92], big] as [[UInt8]] {
            let v = try await roundTrip(backend, type: backend.fixture.bytesType, .bytes(b))
            #expect(try [UInt8](sqlValue: v) == b)
        }
    }

    @Test(arguments: Backend.allCases)
    func timestampsKeepMicrosecondsInUTC(_ backend: Backend) async throws {
        let values: [Int64] = [0, 1_700_000_000_123_456, 1_700_000_000_000_001, 946_684_799_999_999, 4_102_444_799_999_999]
        for micros in values {
            let t = SQLTimestamp(microsecondsSinceEpoch: micros)
            let v = try await roundTrip(backend, type: backend.fixture.timestampType, .timestamp(t))
            #expect(try SQLTimestamp(sqlValue: v) == t, "\(t)")
        }
        // The server's own view of the stored instant is UTC too.
        let db = try backend.database(maxConnections: 1)
        let text: String = try await db.withConnection { conn in
            try conn.queryFirst("SELECT CAST(\(SQLTimestamp(microsecondsSinceEpoch: 1_700_000_000_123_456)) AS CHAR(40)) AS t")!.decode("t")
        }
        #expect(text.hasPrefix("2023-11-14 22:13:20.123456"))
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func jsonRoundTrips(_ backend: Backend) async throws {
        let doc = #"{"agent": "code_reviewer", "credits": 120, "tags": ["a", "ü"], "nested": {"ok": true, "none": null}}"#
        let v = try await roundTrip(backend, type: backend.fixture.jsonType, .json(doc))
        let back = try SQLJSON(sqlValue: v).text
        let a = try JSONSerialization.jsonObject(with: Data(doc.utf8)) as! NSDictionary
        let b = try JSONSerialization.jsonObject(with: Data(back.utf8)) as! NSDictionary
        #expect(a == b)
    }

    @Test(arguments: Backend.allCases)
    func injectionAttemptIsStoredLiterally(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("inj")
        let evil = "'; DROP TABLE \(table); --"
        let stored: [String] = try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, v VARCHAR(200))")
            defer { _ = try? conn.executeUnprepared("DROP TABLE \(table)") }
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (1, \(evil))")
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (2, \("x\" OR 1=1 --"))")
            return try conn.query("SELECT v FROM \(identifier: table) WHERE v = \(evil) OR id = 2 ORDER BY id").map { try $0.decode("v") }
        }
        #expect(stored == [evil, "x\" OR 1=1 --"])
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func rowsAffectedAndInsertIDs(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("ids")
        let idColumn = backend == .postgres ? "BIGSERIAL PRIMARY KEY" : "BIGINT AUTO_INCREMENT PRIMARY KEY"
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id \(idColumn), v INT NOT NULL)")
            defer { _ = try? conn.executeUnprepared("DROP TABLE \(table)") }
            let first = try conn.insertReturningID("INSERT INTO \(identifier: table) (v) VALUES (\(7))")
            let second = try conn.insertReturningID("INSERT INTO \(identifier: table) (v) VALUES (\(7))")
            #expect(second == first + 1)
            // Matched rows count, also where the value does not change (MySQL's CLIENT_FOUND_ROWS).
            #expect(try conn.execute("UPDATE \(identifier: table) SET v = 7").rowsAffected == 2)
            #expect(try conn.execute("DELETE FROM \(identifier: table) WHERE id = \(first)").rowsAffected == 1)
            #expect(try conn.execute("DELETE FROM \(identifier: table) WHERE id = \(first)").rowsAffected == 0)
        }
        await db.close()
    }

    @Test(arguments: Backend.allCases)
    func transactionsCommitAndRollBack(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 2)
        let table = uniqueName("tx")
        try await db.withConnection { try $0.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY)") }
        try await db.transaction { try $0.execute("INSERT INTO \(identifier: table) (id) VALUES (1)") }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { conn in
                try conn.execute("INSERT INTO \(identifier: table) (id) VALUES (2)")
                throw Boom()
            }
        }
        // A failing statement inside the closure rolls back the earlier ones too.
        await #expect(throws: DatabaseError.self) {
            try await db.transaction { conn in
                try conn.execute("INSERT INTO \(identifier: table) (id) VALUES (3)")
                try conn.execute("INSERT INTO \(identifier: table) (id) VALUES (1)")
            }
        }
        let ids = try await db.ids(in: table)
        #expect(ids == [1])
        try await db.dropAndClose(table)
    }

    /// One connection binds values of every kind and of very different sizes, statement
    /// after statement (the MySQL driver reuses its bind buffers between statements),
    /// and a value refused before it is sent leaves the connection usable.
    @Test(arguments: Backend.allCases)
    func bindsOfEveryKindAndSizeOnOneConnection(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("bind")
        let f = backend.fixture
        let big = String(repeating: "0123456789abcdef", count: 65_536)  // 1 MiB, past the kept buffer
        let when = SQLTimestamp(microsecondsSinceEpoch: 1_795_000_000_123_456)
        let rows: [(Int64, String?, [UInt8]?, SQLTimestamp?, Double?)] = [
            (1, "small", [1, 2, 3], when, 1.5),
            (2, big, [UInt8](repeating: 0xAB, count: 200_000), nil, nil),
            (3, "", [], when, -0.25),
            (4, nil, nil, nil, 2.0),
            (5, "after the big one: Grüße 🚀", [0xFF], when, 0),
        ]
        try await db.withConnection { conn in
            try conn.executeUnprepared("""
                CREATE TABLE \(table) (id BIGINT PRIMARY KEY, s \(f.textType), b \(f.bytesType),
                t \(f.timestampType), d \(f.doubleType))
                """)
            for (id, s, b, t, d) in rows {
                try conn.execute("INSERT INTO \(identifier: table) (id, s, b, t, d) VALUES (\(id), \(s), \(b), \(t), \(d))")
            }
            // 300 binds in one statement, more than any before it.
            var many: SQLQuery = "INSERT INTO \(identifier: table) (id, s, b, t, d) VALUES "
            for id in 100..<160 {
                many.append("\(unsafeRaw: id == 100 ? "" : ", ")(\(Int64(id)), \("row \(id)"), \([UInt8(id)]), \(when), \(Double(id)))")
            }
            try conn.execute(many)
            for (id, s, b, t, d) in rows {
                let row = try #require(try conn.queryFirst("SELECT s, b, t, d FROM \(identifier: table) WHERE id = \(id)"))
                #expect(try row.decode("s", as: String?.self) == s, "row \(id)")
                #expect(try row.decode("b", as: [UInt8]?.self) == b, "row \(id)")
                #expect(try row.decode("t", as: SQLTimestamp?.self) == t, "row \(id)")
                #expect(try row.decode("d", as: Double?.self) == d, "row \(id)")
            }
            let last = try #require(try conn.queryFirst("SELECT s, b FROM \(identifier: table) WHERE id = \(Int64(159))"))
            #expect(try last.decode("s", as: String.self) == "row 159")
            #expect(try last.decode("b", as: [UInt8].self) == [159])
            let count = try conn.queryFirst("SELECT COUNT(*) AS n FROM \(identifier: table) WHERE id >= \(Int64(100))")
            #expect(try count?.decode("n", as: Int64.self) == 60)
        }
        if backend == .mysql {
            // DATETIME ends at 9999: refused while binding, before anything is sent.
            let farFuture = SQLTimestamp(microsecondsSinceEpoch: 253_402_300_800_000_000)  // 10000-01-01
            await #expect(throws: DatabaseError.self) {
                try await db.withConnection { conn in
                    try conn.execute("INSERT INTO \(identifier: table) (id, s, t) VALUES (\(Int64(6)), \("late"), \(farFuture))")
                }
            }
        }
        let s = try await db.withConnection { conn in
            try conn.queryFirst("SELECT s FROM \(identifier: table) WHERE id = \(Int64(5))")?.decode("s", as: String.self)
        }
        #expect(s == "after the big one: Grüße 🚀")
        try await db.dropAndClose(table)
    }

    /// A transaction whose first statement is one the connection has prepared already
    /// (PostgreSQL then sends BEGIN with it in one round trip) commits, rolls back and
    /// fails exactly like any other, and leaves the connection usable.
    @Test(arguments: Backend.allCases)
    func transactionsThatStartWithAPreparedStatement(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        // Prepares both statements on the pool's one connection.
        let table = try await db.makeKeyValueTable("txp") { conn, table in
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(0), \(0))")
            _ = try conn.query("SELECT v FROM \(identifier: table) WHERE id = \(0)")
        }
        @Sendable func insert(_ conn: any SQLConnection, _ id: Int) throws {
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(id), \(id * 10))")
        }
        try await db.transaction { try insert($0, 1) }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { conn in
                try insert(conn, 2)
                throw Boom()
            }
        }
        // The first statement itself fails: the error is the statement's, nothing stays.
        let failure = await #expect(throws: DatabaseError.self) {
            try await db.transaction { try insert($0, 1) }
        }
        #expect(failure?.category == .uniqueViolation, "\(String(describing: failure))")
        // Read inside a transaction, then a statement with no binds after it.
        let seen: Int64? = try await db.transaction { conn in
            let v = try conn.queryFirst("SELECT v FROM \(identifier: table) WHERE id = \(1)")?.decode("v", as: Int64.self)
            try conn.executeUnprepared("DELETE FROM \(table) WHERE id = 0")
            return v
        }
        #expect(seen == 10)
        // A transaction that runs nothing commits nothing and fails nothing.
        try await db.transaction { _ in }
        let ids = try await db.ids(in: table)
        #expect(ids == [1])
        try await db.dropAndClose(table)
    }

    /// A deferred statement (PostgreSQL sends it with the next statement or with COMMIT)
    /// takes effect in its transaction exactly when an immediate one would, and its
    /// failure fails the transaction.
    @Test(arguments: Backend.allCases)
    func deferredStatementsBelongToTheirTransaction(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = try await db.makeKeyValueTable("txd") { conn, table in
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(0), \(0))")
        }
        @Sendable func later(_ conn: any SQLConnection, _ id: Int) throws {
            try conn.executeDeferred("INSERT INTO \(identifier: table) (id, v) VALUES (\(id), \(id * 10))")
        }
        @Sendable func count(_ conn: any SQLConnection) throws -> Int64 {
            try conn.queryFirst("SELECT COUNT(*) AS n FROM \(identifier: table) WHERE id >= \(0)")!.decode("n")
        }
        // Committed with the transaction, and seen by the transaction's next statement.
        let seenInside = try await db.transaction { conn in
            try later(conn, 1)
            try later(conn, 2)
            return try count(conn)
        }
        #expect(seenInside == 3)
        try await db.transaction { try later($0, 3) }
        // Rolled back with the transaction.
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await db.transaction { conn in
                try later(conn, 4)
                throw Boom()
            }
        }
        // A deferred statement that fails fails the commit, and takes the rest with it.
        let failure = await #expect(throws: DatabaseError.self) {
            try await db.transaction { conn in
                _ = try count(conn)
                try later(conn, 5)
                try later(conn, 1)
            }
        }
        #expect(failure?.category == .uniqueViolation, "\(String(describing: failure))")
        // Outside a transaction it runs at once.
        let alone: Int64 = try await db.withConnection { conn in
            try later(conn, 6)
            return try count(conn)
        }
        #expect(alone == 5)
        let ids = try await db.ids(in: table)
        #expect(ids == [0, 1, 2, 3, 6])
        try await db.dropAndClose(table)
    }

    /// With the statement cache off (behind a transaction pooler) statements with binds go
    /// out unnamed, and a transaction's deferred ones still travel with the next
    /// statement or with `COMMIT` in one pipeline: a deferred insert that violates a key
    /// fails the commit, not the call that deferred it, and takes its transaction with it.
    @Test func deferredStatementsPipelineUnnamedWithTheCacheOff() async throws {
        var url = try Backend.postgres.url()
        url.parameters.append(("statement_cache", "off"))
        let db = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        let table = try await db.makeKeyValueTable("txu") { conn, table in
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(0), \(0))")
        }
        @Sendable func later(_ conn: any SQLConnection, _ id: Int) throws {
            try conn.executeDeferred("INSERT INTO \(identifier: table) (id, v) VALUES (\(id), \(id * 10))")
        }
        let seen: Int64 = try await db.transaction { conn in
            try later(conn, 1)
            try later(conn, 2)
            return try conn.queryFirst("SELECT COUNT(*) AS n FROM \(identifier: table) WHERE id >= \(0)")!.decode("n")
        }
        #expect(seen == 3)
        let deferredWithoutError = StrataMutex(false)
        let failure = await #expect(throws: DatabaseError.self) {
            try await db.transaction { conn in
                try later(conn, 3)
                try later(conn, 1)
                deferredWithoutError.withLock { $0 = true }
            }
        }
        #expect(deferredWithoutError.withLock { $0 }, "the failing insert was held back to the commit")
        #expect(failure?.category == .uniqueViolation, "\(String(describing: failure))")
        let prepared: Int64 = try await db.withConnection {
            try $0.queryFirst("SELECT COUNT(*) AS n FROM pg_prepared_statements")!.decode("n")
        }
        #expect(prepared == 0, "nothing was prepared by name")
        #expect(try await db.ids(in: table) == [0, 1, 2])
        try await db.dropAndClose(table)
    }

    /// 50 tasks over a pool of 5, on Swift's default executor and on the pool's own.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func concurrentTasksShareABoundedPool(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 5)
        let sessionIDs = try await withThrowingTaskGroup(of: Set<Int64>.self) { group in
            for task in 0..<50 {
                group.addTask(executorPreference: placement.executor(of: db)) {
                    var seen = Set<Int64>()
                    for i in 0..<100 {
                        let expected = Int64(task * 1000 + i)
                        let (value, session): (Int64, Int64) = try await db.withConnection { conn in
                            let v: Int64 = try conn.queryFirst("SELECT \(expected) + 0 AS v")!.decode("v")
                            let s: Int64 = try conn.queryFirst(SQLQuery(unsafeSQL: backend.fixture.sessionID))!.decode("id")
                            return (v, s)
                        }
                        #expect(value == expected)
                        seen.insert(session)
                    }
                    return seen
                }
            }
            var all = Set<Int64>()
            for try await s in group { all.formUnion(s) }
            return all
        }
        #expect(sessionIDs.count <= 5, "server sessions used: \(sessionIDs.count)")
        await db.close()
    }

    /// On the default executor the statement runs on the connection's thread while the
    /// task waits; on the pool's executor the task itself runs it there. Either way a
    /// cancel reaches the server.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func cancellingTheTaskCancelsTheQuery(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 1)
        let observer = try backend.database(maxConnections: 1)
        // Connect first, so the cancel below lands while the statement runs.
        let session: Int64 = try await db.withConnection { try $0.queryFirst(SQLQuery(unsafeSQL: backend.fixture.sessionID))!.decode("id") }
        let started = ContinuousClock.now
        let task = Task(executorPreference: placement.executor(of: db)) {
            try await db.withConnection { conn in
                try conn.executeUnprepared(backend.fixture.sleep(120))
            }
        }
        // Cancel only once the server runs the statement (a loaded machine may take a while).
        var running = false
        while !running && ContinuousClock.now - started < .seconds(60) {
            try await Task.sleep(for: .milliseconds(50))
            running = try await observer.withConnection {
                try $0.queryFirst(SQLQuery(unsafeSQL: backend.fixture.running(session)))!.decode("n", as: Int64.self) == 1
            }
        }
        #expect(running, "the statement never showed as running")
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        let elapsed = ContinuousClock.now - cancelled
        await observer.close()
        // Far below the 60 s or more the statement still had to run, even on a loaded machine.
        #expect(elapsed < .seconds(20), "cancel took \(elapsed) (the statement started \(cancelled - started) before)")
        if case .failure(let error as DatabaseError) = result {
            #expect(error.category == .canceled)
        } else {
            Issue.record("expected a canceled error, got \(result)")
        }
        // The connection is usable afterwards.
        #expect(try await db.answersAQuery())
        await db.close()
    }

    /// A cancel can reach the server while the lease is between two statements, where the
    /// server drops it (the task was cancelled just after its work last checked). The
    /// statement sent next still stops, well before it would end by itself.
    @Test(arguments: Backend.allCases, TaskPlacement.allCases)
    func aCancelBetweenStatementsStopsTheNextOne(_ backend: Backend, _ placement: TaskPlacement) async throws {
        let db = try backend.database(maxConnections: 1)
        #expect(try await db.answersAQuery())
        let betweenStatements = DispatchSemaphore(value: 0)
        let cancelSent = DispatchSemaphore(value: 0)
        let task = Task(executorPreference: placement.executor(of: db)) {
            try await db.withConnection { conn in
                _ = try conn.executeUnprepared("SELECT 1")
                betweenStatements.signal()
                cancelSent.wait()
                try conn.executeUnprepared(backend.fixture.sleep(60))
            }
        }
        await withCheckedContinuation { c in DispatchQueue.global().async { betweenStatements.wait(); c.resume() } }
        task.cancel()
        // The handler's cancel has reached the server (or, in place, there is none yet).
        try await Task.sleep(for: .milliseconds(300))
        let sent = ContinuousClock.now
        cancelSent.signal()
        let result = await task.result
        let elapsed = ContinuousClock.now - sent
        #expect(elapsed < .seconds(20), "the statement ran \(elapsed) after the cancel")
        if case .failure(let error as DatabaseError) = result {
            #expect(error.category == .canceled)
        } else {
            Issue.record("expected a canceled error, got \(result)")
        }
        #expect(try await db.answersAQuery())
        await db.close()
    }

    /// Statements with binds are prepared once per connection (PostgreSQL: a named
    /// statement; MariaDB: the statement cache): repeating one with other binds, and a
    /// `SELECT *` after its table changed shape, give the current answer.
    @Test(arguments: Backend.allCases)
    func preparedStatementsFollowTheSchema(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("ps")
        defer { Task { await db.close() } }
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, v INT NOT NULL)")
            defer { _ = try? conn.executeUnprepared("DROP TABLE \(table)") }
            for i in 1...50 {
                try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(i), \(i * 10))")
            }
            for i in 1...50 {
                let v = try conn.queryFirst("SELECT v FROM \(identifier: table) WHERE id = \(i)")?.decode("v", as: Int64.self)
                #expect(v == Int64(i * 10))
            }
            let before = try conn.queryFirst("SELECT * FROM \(identifier: table) WHERE id = \(7)")
            #expect(before?.values.count == 2)
            try conn.executeUnprepared("ALTER TABLE \(table) ADD COLUMN w INT NOT NULL DEFAULT 3")
            let after = try conn.queryFirst("SELECT * FROM \(identifier: table) WHERE id = \(7)")
            #expect(after?.values.count == 3)
            #expect(try after?.decode("w", as: Int64.self) == 3)
        }
    }

    /// `queryFirst` gives the first row of a longer result (or none) and leaves the
    /// connection ready for the next statement. Statements that differ from the one
    /// before only in an identifier or in their text run as themselves, though drivers
    /// skip rendering a statement they just ran.
    @Test(arguments: Backend.allCases)
    func queryFirstAndStatementsOfAlmostTheSameText(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let a = try await db.makeKeyValueTable("qa") { conn, table in
            for i in 1...5 { try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(i), \(i * 10))") }
        }
        let b = try await db.makeKeyValueTable("qb") { conn, table in
            try conn.execute("INSERT INTO \(identifier: table) (id, v) VALUES (\(1), \(-1))")
        }
        try await db.withConnection { conn in
            let first = try conn.queryFirst("SELECT id, v FROM \(identifier: a) WHERE id >= \(2) ORDER BY id")
            #expect(try first?.decode("id", as: Int64.self) == 2)
            #expect(try first?.decode("v", as: Int64.self) == 20)
            #expect(try conn.queryFirst("SELECT v FROM \(identifier: a) WHERE id > \(100)") == nil)
            for (table, expected) in [(a, 10), (b, -1), (a, 10), (b, -1)] {
                let v = try conn.queryFirst("SELECT v FROM \(identifier: table) WHERE id = \(1)")?.decode("v", as: Int64.self)
                #expect(v == Int64(expected), "table \(table)")
            }
            let ascending = try conn.queryFirst("SELECT id FROM \(identifier: a) WHERE id > \(0) ORDER BY id ASC")
            let descending = try conn.queryFirst("SELECT id FROM \(identifier: a) WHERE id > \(0) ORDER BY id DESC")
            #expect(try ascending?.decode("id", as: Int64.self) == 1)
            #expect(try descending?.decode("id", as: Int64.self) == 5)
            // `execute` of the statement `queryFirst` ran last still returns every row.
            let all = try conn.execute("SELECT id FROM \(identifier: a) WHERE id > \(0) ORDER BY id DESC").rows
            #expect(try all.map { try $0.decode("id", as: Int64.self) } == [5, 4, 3, 2, 1])
            try conn.executeUnprepared("DROP TABLE \(b)")
        }
        try await db.dropAndClose(a)
    }

    /// One statement run again and again with values of the same kinds and sizes (which
    /// a driver may leave bound between executions) sends each execution's own values,
    /// also after values of another kind or size came in between.
    @Test(arguments: Backend.allCases)
    func aRepeatedStatementSendsItsNewValues(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("rv")
        try await db.withConnection { conn in
            try conn.executeUnprepared("CREATE TABLE \(table) (id INT PRIMARY KEY, s \(backend.fixture.textType), n BIGINT)")
            let values: [(String?, Int64?)] = [
                ("abc", 1), ("xyz", 2), ("xyz", nil), (nil, 3), ("longer text", 4), ("abc", 5), ("qrs", 6),
            ]
            for (i, (text, number)) in values.enumerated() {
                try conn.execute("INSERT INTO \(identifier: table) (id, s, n) VALUES (\(i), \(text), \(number))")
            }
            // After a failed execution, the same statement with values of the same shape.
            #expect(throws: DatabaseError.self) {
                try conn.execute("INSERT INTO \(identifier: table) (id, s, n) VALUES (\(0), \("dup"), \(Int64(9)))")
            }
            try conn.execute("INSERT INTO \(identifier: table) (id, s, n) VALUES (\(99), \("new"), \(Int64(99)))")
            let after = try conn.queryFirst("SELECT s, n FROM \(identifier: table) WHERE id = \(99)")
            #expect(try after?.decode("s", as: String.self) == "new")
            #expect(try after?.decode("n", as: Int64.self) == 99)
            for (i, (text, number)) in values.enumerated() {
                let row = try conn.queryFirst("SELECT s, n FROM \(identifier: table) WHERE id = \(i) AND (s = \(text) OR s IS NULL)")
                #expect(try row?.decode("s", as: String?.self) == text, "row \(i)")
                #expect(try row?.decode("n", as: Int64?.self) == number, "row \(i)")
            }
        }
        try await db.dropAndClose(table)
    }

    /// `statement_cache=off` (for PgBouncer in transaction pooling) sends every statement
    /// unnamed; a value other than on/off is a clear URL error.
    @Test func postgresStatementCacheCanBeTurnedOff() async throws {
        var url = try Backend.postgres.url()
        url.parameters.append(("statement_cache", "off"))
        let db = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        defer { Task { await db.close() } }
        let names: [String] = try await db.withConnection { conn in
            for i in 1...3 { _ = try conn.queryFirst("SELECT \(i)::int AS n") }
            return try conn.query("SELECT name FROM pg_prepared_statements").map { try $0.decode("name") }
        }
        #expect(names.isEmpty)

        url.parameters = [("statement_cache", "sometimes")]
        let bad = Database(url: url, maxConnections: 1, logger: TestLog.logger)
        defer { Task { await bad.close() } }
        await #expect(throws: DatabaseError.self) { try await bad.withConnection { _ in } }
        do {
            try await bad.withConnection { _ in }
        } catch let error as DatabaseError {
            #expect(error.category == .invalidURL)
            #expect(error.message.contains("statement_cache"))
        }
    }
}
