import Foundation
import StrataMigrations
import StrataSQL
import Testing

/// Migration folders that the database's own client (or golang-migrate) applies, run
/// through `strata migrate` as they are: names, session settings, routines, `DELIMITER`
/// chunks, and going back down after a failure.
@Suite("migration folders from other tools")
struct MigrationCompatibilityTests {
    private func migrate(_ args: [String], url: DatabaseURL, dir: URL) async throws -> StrataCLI.Result {
        try await StrataCLI.run(["migrate"] + args + ["--migrations", dir.path],
                                environment: ["DATABASE_URL": url.urlString])
    }

    // MARK: Names

    @Test(arguments: Backend.allCases)
    func golangMigrateNamesWithCapitalsAndDotsApply(_ backend: Backend) async throws {
        let fixture = try MigrationFixture([
            "0001_Initial_Schema.up.sql": PortableSQL.createTable("a"),
            "0001_Initial_Schema.down.sql": PortableSQL.dropTable("a"),
            "0002_add.users.table.up.sql": PortableSQL.createTable("users"),
            "0002_add.users.table.down.sql": PortableSQL.dropTable("users"),
        ])
        try await withFreshDatabase(backend) { db, url in
            var r = try await migrate(["up"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("0001_Initial_Schema") && r.stdout.contains("0002_add.users.table"), "\(r.stdout)")
            let tables = try await db.tableNames()
            #expect(tables.contains("a") && tables.contains("users"), "\(tables)")
            r = try await migrate(["status", "--json"], url: url, dir: fixture.root)
            let entries = r.json?["migrations"] as? [[String: Any]]
            #expect(entries?.map { $0["name"] as? String } == ["Initial_Schema", "add.users.table"], "\(r.stdout)")
            #expect(entries?.map { $0["state"] as? String } == ["applied", "applied"], "\(r.stdout)")
            r = try await migrate(["down", "--all"], url: url, dir: fixture.root)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try await !db.tableNames().contains("users"))
        }
    }
}
