import Foundation
import Logging
import StrataMigrations
import StrataSQL

/// A migrations folder made for one test, removed when the fixture goes away.
final class MigrationFixture: @unchecked Sendable {
    let root: URL

    /// - Parameter files: file name → contents, written into the folder.
    init(_ files: [String: String] = [:]) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-mig-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        for (name, contents) in files { try write(name, contents) }
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func write(_ name: String, _ contents: String) throws {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
    }

    func remove(_ name: String) throws {
        try FileManager.default.removeItem(at: root.appendingPathComponent(name))
    }

    func migrator(_ db: Database, backend: Backend, lockTimeout: Duration = .seconds(60)) throws -> Migrator {
        let set = try MigrationLoader.load(directory: root, dialect: backend == .postgres ? .postgres : .mysql)
        var options = MigratorOptions()
        options.directoryLabel = root.lastPathComponent
        options.lockTimeout = lockTimeout
        return try Migrator(database: db, migrations: set, options: options, logger: TestLog.logger)
    }
}

/// SQL that runs on both backends, for generated migrations.
enum PortableSQL {
    static func createTable(_ name: String) -> String {
        "CREATE TABLE \(name) (id INT NOT NULL PRIMARY KEY, note VARCHAR(40) NULL)"
    }

    static func dropTable(_ name: String) -> String { "DROP TABLE \(name)" }
}

extension Database {
    /// Names of the tables of the current database, sorted.
    func tableNames() async throws -> [String] {
        let schema = dialect.currentSchemaExpression
        return try await withConnection { conn in
            try conn.query("SELECT table_name AS n FROM information_schema.tables WHERE table_schema = \(unsafeRaw: schema) ORDER BY table_name")
                .map { try $0.decode("n", as: String.self) }
        }
    }
}
