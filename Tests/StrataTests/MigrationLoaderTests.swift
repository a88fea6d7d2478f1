import Foundation
import StrataMigrations
import Testing

/// A migrations directory under the temporary folder, removed when released.
private final class MigrationsDirectory {
    let url: URL

    init(_ files: [String: String] = [:]) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (path, contents) in files { try write(path, contents) }
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func write(_ path: String, _ contents: String) throws {
        try write(path, Data(contents.utf8))
    }

    func write(_ path: String, _ data: Data) throws {
        let file = url.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file)
    }

    func load(_ dialect: SQLSplitDialect = .postgres) throws(MigrationLoadError) -> MigrationSet {
        try MigrationLoader.load(directory: url, dialect: dialect)
    }

    /// The one-line error that loading gives, or `nil` when it loads.
    func loadError(_ dialect: SQLSplitDialect = .postgres) -> String? {
        do {
            _ = try load(dialect)
            return nil
        } catch {
            return error.description
        }
    }
}

/// An up/down pair in both dialect folders.
private func bothDialects(_ stem: String, up: String = "SELECT 1;", down: String = "SELECT 2;") -> [String: String] {
    var files: [String: String] = [:]
    for dialect in SQLSplitDialect.allCases {
        files["\(dialect.rawValue)/\(stem).up.sql"] = up
        files["\(dialect.rawValue)/\(stem).down.sql"] = down
    }
    return files
}

@Suite struct MigrationLoaderTests {
    // MARK: Acceptance

    @Test func loadsTheDialectFolderOfATwoFolderLayout() throws {
        let directory = try MigrationsDirectory(bothDialects("0001_customers").merging([
            "postgres/0002_wallets.up.sql": "CREATE TABLE a (id BIGINT);\nCREATE TABLE b (id BIGINT);\n",
            "postgres/0002_wallets.down.sql": "DROP TABLE b;\nDROP TABLE a;\n",
            "mysql/0002_wallets.up.sql": "CREATE TABLE a (id BIGINT) # mysql\n",
            "mysql/0002_wallets.down.sql": "DROP TABLE a",
            "README.md": "# migrations",
            "postgres/.keep": "",
            "mysql/notes.txt": "not a migration",
        ]) { $1 })
        let set = try directory.load(.postgres)
        #expect(set.dialect == .postgres)
        #expect(set.migrations.map(\.name) == ["customers", "wallets"])
        #expect(set.warnings.isEmpty)
        let wallets = try #require(set[MigrationVersion("2")!])
        #expect(wallets.up.file.path == "postgres/0002_wallets.up.sql")
        #expect(wallets.down?.file.path == "postgres/0002_wallets.down.sql")
        #expect(wallets.up.statements.map(\.line) == [1, 2])
        #expect(wallets.up.checksum == MigrationChecksum(contents: "CREATE TABLE a (id BIGINT);\nCREATE TABLE b (id BIGINT);"))
        #expect(try directory.load(.mysql)[MigrationVersion("2")!]?.up.statements.map(\.text) == ["CREATE TABLE a (id BIGINT)"])
    }

    @Test func loadsAGolangMigrateFolderAsItIs() throws {
        let directory = try MigrationsDirectory([
            "1_init.up.sql": "CREATE TABLE t (id INT);",
            "1_init.down.sql": "DROP TABLE t;",
            "2_more.up.sql": "ALTER TABLE t ADD COLUMN a INT;",
            "2_more.down.sql": "ALTER TABLE t DROP COLUMN a;",
            "sub/3_ignored.up.sql": "ignored: subfolders are not part of the set",
        ])
        let set = try directory.load(.mysql)
        #expect(set.migrations.map(\.version.description) == ["1", "2"])
        #expect(set.migrations.map(\.up.file.path) == ["1_init.up.sql", "2_more.up.sql"])
    }

    @Test func takesAnyNameAfterTheVersionAsGolangMigrateDoes() throws {
        // golang-migrate: ^([0-9]+)_(.*)\.(down|up)\.(.*)$, so these are its files too.
        let directory = try MigrationsDirectory([
            "0001_Initial_Schema.up.sql": "CREATE TABLE t (id INT);",
            "0001_Initial_Schema.down.sql": "DROP TABLE t;",
            "0002_add.users.table.up.sql": "CREATE TABLE users (id INT);",
            "0002_add.users.table.down.sql": "DROP TABLE users;",
            "0003_fix-Index v2.up.sql": "SELECT 1;",
            "0003_fix-Index v2.down.sql": "SELECT 1;",
            "0004_x.up.down.sql": "SELECT 1;",
            "0004_x.up.up.sql": "SELECT 1;",
        ])
        let set = try directory.load(.mysql)
        #expect(set.migrations.map(\.name) == ["Initial_Schema", "add.users.table", "fix-Index v2", "x.up"])
        #expect(set.migrations.map(\.label) == ["0001_Initial_Schema", "0002_add.users.table", "0003_fix-Index v2", "0004_x.up"])
        #expect(set.migrations.map { $0.down?.file.direction } == [.down, .down, .down, .down])
    }

    @Test func ordersVersionsAsIntegersOfUpTo20Digits() throws {
        var files: [String: String] = [:]
        for stem in ["99999999999999999999_d", "10_b", "20231101120000_c", "9_a"] {
            files["\(stem).up.sql"] = "SELECT 1;"
            files["\(stem).down.sql"] = "SELECT 1;"
        }
        let set = try MigrationsDirectory(files).load()
        #expect(set.migrations.map(\.name) == ["a", "b", "c", "d"])
        #expect(set.migrations.last?.up.file.versionSpelling == "99999999999999999999")
    }

    @Test func acceptsCRLFNoTrailingNewlineAndALastStatementWithoutDelimiter() throws {
        let set = try MigrationsDirectory([
            "0001_crlf.up.sql": "CREATE TABLE t (id INT);  \r\n\r\nINSERT INTO t VALUES (1)\r\n\r\n",
            "0001_crlf.down.sql": "DROP TABLE t",
        ]).load()
        let migration = try #require(set.migrations.first)
        #expect(migration.up.statements.map(\.text) == ["CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1)"])
        #expect(migration.up.statements.map(\.line) == [1, 3])
        #expect(migration.up.checksum == MigrationChecksum(contents: "CREATE TABLE t (id INT);\n\nINSERT INTO t VALUES (1)\n"))
        #expect(migration.down?.statements.map(\.text) == ["DROP TABLE t"])
    }

    @Test func stripsAByteOrderMark() throws {
        let directory = try MigrationsDirectory(["1_a.down.sql": "SELECT 2;"])
        try directory.write("1_a.up.sql", Data([0xEF, 0xBB, 0xBF] + Array("SELECT 1;".utf8)))
        let up = try #require(directory.load().migrations.first?.up)
        #expect(up.statements.map(\.text) == ["SELECT 1"])
        #expect(up.checksum == MigrationChecksum(contents: "SELECT 1;"))
    }

    @Test func emptyFilesAreNoOpsAndAnEmptyDownIsAWarning() throws {
        let set = try MigrationsDirectory([
            "1_empty.up.sql": "",
            "1_empty.down.sql": "SELECT 1;",
            "2_data.up.sql": "INSERT INTO t VALUES (1);",
            "2_data.down.sql": "",
            "3_noted.up.sql": "UPDATE t SET a = 1;",
            "3_noted.down.sql": "-- nothing to undo\n/* really; */\n",
        ]).load()
        #expect(set.migrations[0].up.statements.isEmpty)
        #expect(set.warnings.map(\.description) == [
            "2_data.down.sql: warning: empty down: reverting this migration changes nothing",
            "3_noted.down.sql: warning: empty down: reverting this migration changes nothing",
        ])
    }

    @Test func anIrreversibleUpNeedsNoDown() throws {
        let set = try MigrationsDirectory([
            "1_purge.up.sql": "-- strata:irreversible\nDELETE FROM t;",
            "2_index.up.sql": "-- strata:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "2_index.down.sql": "-- strata:no-transaction\nDROP INDEX CONCURRENTLY i;",
        ]).load()
        #expect(set.migrations[0].isIrreversible)
        #expect(set.migrations[0].down == nil)
        #expect(set.migrations[0].up.directives == .irreversible)
        #expect(set.migrations[1].up.directives == .noTransaction)
        #expect(set.migrations[1].script(.down)?.directives == .noTransaction)
    }

    // MARK: Rejection

    @Test(arguments: [
        ("0001-init.up.sql", "0001-init.up.sql: not a migration file name: expected <version>_<name>.up.sql or .down.sql"),
        ("0001_init.sql", "0001_init.sql: not a migration file name: expected <version>_<name>.up.sql or .down.sql"),
        ("0001_init.UP.SQL", "0001_init.UP.SQL: not a migration file name: expected <version>_<name>.up.sql or .down.sql"),
        ("0001_.up.sql", "0001_.up.sql: empty name: expected <version>_<name>.up.sql or .down.sql"),
        ("0001_.down.sql", "0001_.down.sql: empty name: expected <version>_<name>.up.sql or .down.sql"),
        ("0001_a\tb.up.sql", "0001_a?b.up.sql: bad name: it holds the control character U+0009"),
        ("0001_a\nb.down.sql", "0001_a?b.down.sql: bad name: it holds the control character U+000A"),
        ("0001.up.sql", "0001.up.sql: not a migration file name: expected <version>_<name>.up.sql or .down.sql"),
        ("v1_init.up.sql", "v1_init.up.sql: bad version \"v1\": expected a positive integer of 1 to 20 digits"),
        ("0000_init.up.sql", "0000_init.up.sql: bad version \"0000\": expected a positive integer of 1 to 20 digits"),
        ("123456789012345678901_x.up.sql",
         "123456789012345678901_x.up.sql: bad version \"123456789012345678901\": expected a positive integer of 1 to 20 digits"),
    ])
    func rejectsBadFileNames(fileName: String, error: String) throws {
        let directory = try MigrationsDirectory(["1_ok.up.sql": "SELECT 1;", "1_ok.down.sql": "", fileName: "SELECT 1;"])
        #expect(directory.loadError() == error)
    }

    @Test func rejectsBadFileNamesInsideADialectFolder() throws {
        var files = bothDialects("0001_ok")
        files["mysql/2_.up.sql"] = "SELECT 1;"
        #expect(try MigrationsDirectory(files).loadError(.mysql) == "mysql/2_.up.sql: empty name: expected <version>_<name>.up.sql or .down.sql")
        // Names in the other dialect's folder are checked too.
        #expect(try MigrationsDirectory(files).loadError(.postgres) == "mysql/2_.up.sql: empty name: expected <version>_<name>.up.sql or .down.sql")
    }

    @Test func rejectsADuplicateVersion() throws {
        let directory = try MigrationsDirectory([
            "0001_a.up.sql": "SELECT 1;", "0001_a.down.sql": "SELECT 1;",
            "1_b.up.sql": "SELECT 1;", "1_b.down.sql": "SELECT 1;",
        ])
        #expect(directory.loadError() == "1_b.down.sql: duplicate version 1: 0001_a.up.sql has it too")
        let respelt = try MigrationsDirectory(["0001_a.up.sql": "SELECT 1;", "1_a.down.sql": "SELECT 1;"])
        #expect(respelt.loadError() == "1_a.down.sql: duplicate version 1: 0001_a.up.sql has it too")
    }

    @Test func rejectsAnUpWithoutItsDown() throws {
        let directory = try MigrationsDirectory(bothDialects("0001_ok").merging([
            "postgres/0003_x.up.sql": "SELECT 1;", "mysql/0003_x.up.sql": "SELECT 1;",
        ]) { $1 })
        #expect(directory.loadError()
                == "postgres/0003_x.up.sql: no matching .down.sql (add one, or mark the up with -- strata:irreversible)")
    }

    @Test func rejectsADownWithoutItsUp() throws {
        let directory = try MigrationsDirectory(["1_a.up.sql": "", "1_a.down.sql": "", "2_b.down.sql": "SELECT 1;"])
        #expect(directory.loadError() == "2_b.down.sql: no matching .up.sql")
    }

    @Test func rejectsADownForAnIrreversibleUp() throws {
        let directory = try MigrationsDirectory(["1_a.up.sql": "-- strata:irreversible\nDELETE FROM t;", "1_a.down.sql": ""])
        #expect(directory.loadError() == "1_a.down.sql: the up is marked -- strata:irreversible, so it cannot have a down")
    }

    @Test func rejectsDialectFoldersThatDiffer() throws {
        var missing = bothDialects("0001_a")
        missing["postgres/0002_b.up.sql"] = "SELECT 1;"
        missing["postgres/0002_b.down.sql"] = "SELECT 1;"
        let directory = try MigrationsDirectory(missing)
        let error = "postgres/0002_b.down.sql: no counterpart in mysql/ (both dialect folders must hold the same versions and names)"
        #expect(directory.loadError(.postgres) == error)
        #expect(directory.loadError(.mysql) == error)

        var extra = bothDialects("0001_a")
        extra["mysql/0003_c.up.sql"] = "-- strata:irreversible\nSELECT 1;"
        #expect(try MigrationsDirectory(extra).loadError(.postgres)
                == "mysql/0003_c.up.sql: no counterpart in postgres/ (both dialect folders must hold the same versions and names)")

        var renamed = bothDialects("0001_a")
        renamed["mysql/0001_a.up.sql"] = nil
        renamed["mysql/0001_a.down.sql"] = nil
        renamed["mysql/1_other.up.sql"] = "SELECT 1;"
        renamed["mysql/1_other.down.sql"] = "SELECT 1;"
        #expect(try MigrationsDirectory(renamed).loadError(.postgres)
                == "postgres/0001_a.down.sql: mysql/1_other.up.sql has this version under another name")
    }

    @Test func rejectsMigrationFilesOutsideTheDialectFolders() throws {
        var files = bothDialects("0001_a")
        files["0002_b.up.sql"] = "SELECT 1;"
        #expect(try MigrationsDirectory(files).loadError() == "0002_b.up.sql: migration file outside the postgres/ and mysql/ folders")
    }

    @Test func rejectsAMissingDialectFolder() throws {
        let directory = try MigrationsDirectory(["postgres/1_a.up.sql": "SELECT 1;", "postgres/1_a.down.sql": ""])
        #expect(directory.loadError(.mysql) == "mysql/: no such folder, though postgres/ exists")
        #expect(try directory.load(.postgres).migrations.count == 1)
    }

    @Test func rejectsAMissingDirectory() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-absent-\(UUID().uuidString)")
        #expect(throws: MigrationLoadError(file: url.path, message: "no such migrations directory")) {
            try MigrationLoader.load(directory: url, dialect: .postgres)
        }
    }

    @Test func reportsMalformedSQLWithFileAndLine() throws {
        let directory = try MigrationsDirectory(bothDialects("0001_a").merging([
            "postgres/0002_b.up.sql": "CREATE TABLE t (id INT);\nINSERT INTO t VALUES ('oops);\n",
            "postgres/0002_b.down.sql": "DELETE FROM t;",
            "mysql/0002_b.up.sql": "SELECT 1;", "mysql/0002_b.down.sql": "SELECT 1;",
        ]) { $1 })
        #expect(directory.loadError(.postgres) == "postgres/0002_b.up.sql:2: unterminated quoted string")
        let directive = try MigrationsDirectory(["1_a.up.sql": "SELECT 1;\n\n-- strata:irreversable\n", "1_a.down.sql": ""])
        #expect(directive.loadError() == "1_a.up.sql:3: unknown directive strata:irreversable "
                + "(known: strata:no-transaction, strata:irreversible, strata:lint-ignore)")
    }

    @Test func rejectsAFileThatIsNotUTF8() throws {
        let directory = try MigrationsDirectory(["1_a.down.sql": ""])
        try directory.write("1_a.up.sql", Data([0x53, 0xFF, 0xFE, 0x3B]))
        #expect(directory.loadError() == "1_a.up.sql: not valid UTF-8")
    }

    @Test func errorDescriptionsAreOneLine() {
        #expect(MigrationLoadError(file: "migrations/postgres/0003_x.up.sql", message: "no matching .up.sql").description
                == "migrations/postgres/0003_x.up.sql: no matching .up.sql")
        #expect(MigrationLoadError(file: "a.up.sql", line: 7, message: "m").description == "a.up.sql:7: m")
    }
}
