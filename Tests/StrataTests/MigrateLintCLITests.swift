import Foundation
import StrataSQL
import Testing

/// `strata migrate lint` as a pull request's CI runs it: the built binary, its exit
/// status, its GitHub annotations and its JSON.
@Suite("strata migrate lint CLI")
struct MigrateLintCLITests {
    /// 0001 creates `wallets`; 0002 changes it the risky way on both dialects.
    static func fixture() throws -> MigrationFixture {
        var files: [String: String] = [:]
        for dialect in ["postgres", "mysql"] {
            files["\(dialect)/0001_wallets.up.sql"] = """
                -- strata:lint-ignore ST405 kept to show that up loads a file with a waiver
                CREATE TABLE wallets (id BIGINT PRIMARY KEY, owner VARCHAR(64));
                """
            files["\(dialect)/0001_wallets.down.sql"] = "DROP TABLE wallets;"
            files["\(dialect)/0002_tier.up.sql"] = """
                ALTER TABLE wallets ADD COLUMN tier INT NOT NULL;
                CREATE INDEX ix_wallets_owner ON wallets (owner);
                """
            files["\(dialect)/0002_tier.down.sql"] = "DROP INDEX ix_wallets_owner\(dialect == "mysql" ? " ON wallets" : "");\nALTER TABLE wallets DROP COLUMN tier;"
        }
        return try MigrationFixture(files)
    }

    private func lint(_ args: [String], _ dir: URL, url: DatabaseURL? = nil) async throws -> StrataCLI.Result {
        try await StrataCLI.run(["migrate", "lint", "--migrations", dir.path] + args,
                                environment: url.map { ["DATABASE_URL": $0.urlString] } ?? [:])
    }

    @Test
    func exitStatusTextJSONAndGitHub() async throws {
        let fixture = try Self.fixture()
        // Everything linted: wallets is new in the set, so 0002 harms nobody.
        var r = try await lint([], fixture.root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("lint ok: 0 errors, 0 warnings, 2 notices, 0 waived in 2 postgres and 2 mysql migrations"), "\(r.stdout)")
        // From 0002 on, wallets exists: an error on PostgreSQL fails the run with 8.
        r = try await lint(["--since", "2"], fixture.root)
        #expect(r.status == 8, "\(r.stdout)\(r.stderr)")
        let path = "\(fixture.root.path)/postgres/0002_tier.up.sql"
        #expect(r.stdout.contains("\(path):1: MF103 error: column wallets.tier is NOT NULL without a DEFAULT"), "\(r.stdout)")
        #expect(r.stdout.contains("\(path):2: PG101 error: CREATE INDEX ix_wallets_owner on wallets without CONCURRENTLY"))
        #expect(r.stdout.contains("    hint: CREATE INDEX CONCURRENTLY"))
        #expect(r.stdout.contains("mysql/0002_tier.up.sql:1: MY101 warning:"))
        // MySQL alone has only warnings: it passes.
        r = try await lint(["--since", "2", "--dialect", "mysql"], fixture.root)
        #expect(r.status == 0 && r.stdout.contains("ST201 warning") && !r.stdout.contains("postgres/"), "\(r.stdout)\(r.stderr)")

        r = try await lint(["--since", "2", "--format", "github"], fixture.root)
        #expect(r.status == 8)
        let annotations = r.stdout.split(separator: "\n").filter { $0.hasPrefix("::") }
        #expect(annotations.contains {
            $0.hasPrefix("::error file=\(path),line=1,title=MF103 NOT NULL column without a default added to an existing table (squawk%3A adding-required-field)::column wallets.tier is NOT NULL")
                && $0.contains("%0Ahint: add it with a DEFAULT")
        }, "\(annotations)")
        #expect(annotations.contains { $0.hasPrefix("::warning file=\(fixture.root.path)/mysql/0002_tier.up.sql,line=1,title=MY101") })

        r = try await lint(["--since", "2", "--json"], fixture.root)
        #expect(r.status == 8)
        let json = try #require(r.json, "\(r.stdout)")
        #expect(json["ok"] as? Bool == false)
        let findings = try #require(json["findings"] as? [[String: Any]])
        let mf103 = try #require(findings.first { $0["code"] as? String == "MF103" })
        #expect(mf103["file"] as? String == path && mf103["line"] as? Int == 1 && mf103["severity"] as? String == "error")
        #expect(mf103["squawk"] as? String == "adding-required-field" && mf103["waived"] as? Bool == false)
        #expect(mf103["waiver_reason"] is NSNull && (mf103["hint"] as? String)?.isEmpty == false)
        let summary = try #require(json["summary"] as? [String: Any])
        #expect(summary["errors"] as? Int == 2 && summary["migrations"] as? [String: Int] == ["postgres": 1, "mysql": 1], "\(summary)")

        // A waiver with a reason turns the errors into waived findings, shown as such.
        try fixture.write("postgres/0002_tier.up.sql", """
            -- strata:lint-ignore MF103, PG101 wallets is still empty in every environment (checked 2026-12-03)
            ALTER TABLE wallets ADD COLUMN tier INT NOT NULL, ADD COLUMN x INT; CREATE INDEX ix_wallets_owner ON wallets (owner);
            """)
        r = try await lint(["--since", "2", "--dialect", "postgres", "--json"], fixture.root)
        let waived = (r.json?["findings"] as? [[String: Any]])?.filter { $0["waived"] as? Bool == true } ?? []
        #expect(waived.count == 1 && waived.first?["code"] as? String == "MF103" && waived.first?["waiver_reason"] as? String == "wallets is still empty in every environment (checked 2026-12-03)", "\(r.stdout)")
        #expect(r.status == 8, "the waiver covers the ALTER only; the CREATE INDEX on the same line is its own statement: \(r.stdout)")
    }

    @Test
    func usageErrors() async throws {
        let fixture = try Self.fixture()
        var r = try await lint(["--since", "1", "--pending"], fixture.root)
        #expect(r.status == 64 && r.stderr.contains("--since and --pending exclude each other"), "\(r.stderr)")
        r = try await lint(["--dialect", "oracle"], fixture.root)
        #expect(r.status == 64, "\(r.stderr)")
        r = try await lint(["--pending"], fixture.root)
        #expect(r.status == 64 && r.stderr.contains("no database"), "\(r.stderr)")
        r = try await lint([], fixture.root.appendingPathComponent("nope"))
        #expect(r.status == 1 && r.stderr.contains("no such migrations directory"), "\(r.stderr)")
    }

    @Test(arguments: Backend.allCases)
    func pendingJudgesWhatTheDatabaseHasNotApplied(_ backend: Backend) async throws {
        let fixture = try Self.fixture()
        try await withFreshDatabase(backend) { _, url in
            var r = try await StrataCLI.run(["migrate", "up", "--to", "1", "--migrations", fixture.root.path],
                                            environment: ["DATABASE_URL": url.urlString])
            #expect(r.status == 0, "\(r.stderr)")
            r = try await lint(["--pending", "--json"], fixture.root, url: url)
            let codes = Set(((r.json?["findings"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String })
            let files = Set(((r.json?["findings"] as? [[String: Any]]) ?? []).compactMap { $0["file"] as? String })
            #expect(files == ["\(fixture.root.path)/\(backend.rawValue)/0002_tier.up.sql"], "only 0002, only this dialect: \(r.stdout)")
            #expect(codes == (backend == .postgres ? ["MF103", "PG101", "ST302"] : ["MY101", "ST201"]), "\(r.stdout)")
            #expect(r.status == (backend == .postgres ? 8 : 0), "\(r.stderr)")
            r = try await StrataCLI.run(["migrate", "up", "--migrations", fixture.root.path], environment: ["DATABASE_URL": url.urlString])
            #expect(r.status == 0, "\(r.stderr)")
            r = try await lint(["--pending"], fixture.root, url: url)
            #expect(r.status == 0 && r.stdout.contains("lint ok: 0 errors, 0 warnings, 0 notices, 0 waived in 0 \(backend.rawValue) migrations"), "\(r.stdout)")
        }
    }
}
