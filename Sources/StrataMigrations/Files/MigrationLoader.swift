import Foundation

/// Reads a migrations directory into a checked ``MigrationSet``.
///
/// Two layouts are understood. When the directory holds a `postgres/` or a `mysql/`
/// folder, the dialect's folder is loaded and the other one, if present, must hold the
/// same versions under the same names. Otherwise the directory itself holds one
/// dialect's migrations, as golang-migrate keeps them:
///
/// ```
/// migrations/postgres/0001_customers.up.sql     migrations/0001_customers.up.sql
/// migrations/postgres/0001_customers.down.sql   migrations/0001_customers.down.sql
/// migrations/mysql/0001_customers.up.sql
/// migrations/mysql/0001_customers.down.sql
/// ```
///
/// Files that do not end in `.sql` (`README.md`, `.keep`) and subfolders are ignored;
/// a `.sql` file that is not a well-named up or down is an error, so a typo cannot
/// hide a migration.
///
/// ```swift
/// let set = try MigrationLoader.load(directory: URL(fileURLWithPath: "migrations"), dialect: .mysql)
/// set.warnings.forEach { print($0) }
/// ```
public enum MigrationLoader {
    private typealias Catalogue = [MigrationVersion: [MigrationDirection: MigrationFile]]

    /// Loads and checks the migrations of one dialect.
    ///
    /// Every file of the dialect is read, split and checksummed. An empty or
    /// comment-only file is a valid no-op; an empty down is reported in
    /// ``MigrationSet/warnings``.
    ///
    /// - Parameters:
    ///   - directory: The migrations directory.
    ///   - dialect: The dialect to load, which picks the folder in the two-folder layout.
    /// - Returns: The dialect's migrations, oldest first.
    /// - Throws: ``MigrationLoadError`` naming the file (relative to `directory`) for
    ///   a `.sql` file whose name does not fit `<version>_<name>.up.sql | .down.sql`;
    ///   two files with the same version; an up without its down, unless the up says
    ///   `-- strata:irreversible` (and then a down is an error); a down without its up;
    ///   a file with no counterpart in the other dialect's folder; a file that is not
    ///   UTF-8 or does not lex (with its line); a missing directory or dialect folder.
    public static func load(directory: URL, dialect: SQLSplitDialect) throws(MigrationLoadError) -> MigrationSet {
        let root = directory.path
        guard isDirectory(root) else {
            throw MigrationLoadError(file: root, message: "no such migrations directory")
        }
        let folders = SQLSplitDialect.allCases.filter { isDirectory("\(root)/\($0.rawValue)") }
        guard !folders.isEmpty else {
            return try loadSet(catalogue(root, folder: nil), in: root, dialect: dialect)
        }
        if let stray = try sqlFileNames(in: root, folder: nil).first {
            throw MigrationLoadError(file: stray, message: "migration file outside the postgres/ and mysql/ folders")
        }
        guard folders.contains(dialect) else {
            throw MigrationLoadError(
                file: "\(dialect.rawValue)/", message: "no such folder, though \(folders[0].rawValue)/ exists")
        }
        let files = try catalogue(root, folder: dialect.rawValue)
        let set = try loadSet(files, in: root, dialect: dialect)
        for other in folders where other != dialect {
            try checkParity(files, try catalogue(root, folder: other.rawValue),
                            folders: (dialect.rawValue, other.rawValue))
        }
        return set
    }

    /// Parses the names of a folder's migration files and pairs ups with downs by version.
    private static func catalogue(_ root: String, folder: String?) throws(MigrationLoadError) -> Catalogue {
        var catalogue: Catalogue = [:]
        for path in try sqlFileNames(in: root, folder: folder) {
            let file = try MigrationFile(path: path)
            if let other = representative(catalogue[file.version]),
               other.name != file.name || other.versionSpelling != file.versionSpelling {
                throw MigrationLoadError(
                    file: path, message: "duplicate version \(file.version): \(other.fileName) has it too")
            }
            catalogue[file.version, default: [:]][file.direction] = file
        }
        return catalogue
    }

    private static func loadSet(
        _ catalogue: Catalogue, in root: String, dialect: SQLSplitDialect
    ) throws(MigrationLoadError) -> MigrationSet {
        var migrations: [Migration] = []
        var warnings: [MigrationWarning] = []
        for (_, files) in catalogue.sorted(by: { $0.key < $1.key }) {
            guard let upFile = files[.up] else {
                let downFile = files[.down]!
                throw MigrationLoadError(file: downFile.path, message: "no matching .up.sql")
            }
            let up = try readScript(upFile, in: root, dialect: dialect)
            let irreversible = up.directives.contains(.irreversible)
            var down: MigrationScript?
            if let downFile = files[.down] {
                guard !irreversible else {
                    throw MigrationLoadError(
                        file: downFile.path, message: "the up is marked -- strata:irreversible, so it cannot have a down")
                }
                let script = try readScript(downFile, in: root, dialect: dialect)
                if script.statements.isEmpty {
                    warnings.append(MigrationWarning(
                        file: downFile.path, message: "empty down: reverting this migration changes nothing"))
                }
                down = script
            } else if !irreversible {
                throw MigrationLoadError(
                    file: upFile.path,
                    message: "no matching .down.sql (add one, or mark the up with -- strata:irreversible)")
            }
            for script in [up, down].compactMap({ $0 }) {
                for statement in script.statements where statement.isUnsplitChunk {
                    warnings.append(MigrationWarning(
                        file: script.file.path, line: statement.line,
                        message: "the BEGIN … END blocks of this DELIMITER chunk do not balance, so it runs as one statement, as the mysql client sends it; if it holds several, give each its own delimiter"))
                }
            }
            migrations.append(Migration(up: up, down: down))
        }
        return MigrationSet(dialect: dialect, migrations: migrations, warnings: warnings)
    }

    /// Checks that two dialect folders hold the same versions under the same names.
    private static func checkParity(
        _ files: Catalogue, _ others: Catalogue, folders: (String, String)
    ) throws(MigrationLoadError) {
        for (mine, theirs, theirFolder) in [(files, others, folders.1), (others, files, folders.0)] {
            let sorted = mine.values.flatMap(\.values).sorted { ($0.version, $0.path) < ($1.version, $1.path) }
            for file in sorted {
                guard let counterpart = representative(theirs[file.version]) else {
                    throw MigrationLoadError(
                        file: file.path,
                        message: "no counterpart in \(theirFolder)/ (both dialect folders must hold the same versions and names)")
                }
                guard counterpart.name == file.name else {
                    throw MigrationLoadError(
                        file: file.path, message: "\(counterpart.path) has this version under another name")
                }
            }
        }
    }

    /// The file that names a version in messages: its up, or else its down.
    private static func representative(_ files: [MigrationDirection: MigrationFile]?) -> MigrationFile? {
        files?[.up] ?? files?[.down]
    }

    private static func readScript(
        _ file: MigrationFile, in root: String, dialect: SQLSplitDialect
    ) throws(MigrationLoadError) -> MigrationScript {
        guard let data = FileManager.default.contents(atPath: "\(root)/\(file.path)") else {
            throw MigrationLoadError(file: file.path, message: "cannot read the file")
        }
        guard var sql = String(data: data, encoding: .utf8) else {
            throw MigrationLoadError(file: file.path, message: "not valid UTF-8")
        }
        if sql.unicodeScalars.first == "\u{FEFF}" { sql.unicodeScalars.removeFirst() }
        return try MigrationScript(file: file, sql: sql, dialect: dialect)
    }

    /// The paths, relative to the migrations directory and sorted, of a folder's
    /// `.sql` files (hidden files aside).
    private static func sqlFileNames(in root: String, folder: String?) throws(MigrationLoadError) -> [String] {
        let prefix = folder.map { "\($0)/" } ?? ""
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(prefix)")
        } catch {
            throw MigrationLoadError(file: folder ?? root, message: "cannot list the folder")
        }
        return names.filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".sql") }.sorted().map { prefix + $0 }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
