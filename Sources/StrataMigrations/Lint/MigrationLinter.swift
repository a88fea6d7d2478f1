import Foundation

/// Static analysis of a migrations directory: `strata migrate lint`.
///
/// It reads each dialect's files the way ``MigrationLoader`` does (the same names,
/// splitter and directives) but does not stop at the first structural problem: a
/// missing down, an empty one, or a version one dialect folder lacks is a finding
/// among the others. Every up file's statements are recognised (``DDLRecognizer``) and
/// replayed in version order into a ``LintSchema``; the statements of the migrations in
/// the scope are judged against the schema before them (``LintStatementChecker``).
/// Down files are judged only for being there: they run when a deploy is rolled back,
/// and dropping what the up created is what they are for. No database is needed.
///
/// ```swift
/// let report = try MigrationLinter.lint(directory: URL(fileURLWithPath: "migrations"), scope: .since(MigrationVersion("12")!))
/// report.findings.forEach { print($0) }
/// exit(report.passes ? 0 : 8)
/// ```
public enum MigrationLinter {
    /// Lints a migrations directory.
    ///
    /// - Parameters:
    ///   - directory: The migrations directory, with `postgres/` and `mysql/` folders or
    ///     one dialect's files.
    ///   - dialects: The dialects to lint; `nil` for every dialect folder present. A
    ///     directory without dialect folders needs exactly one.
    ///   - scope: The migrations to judge.
    ///   - label: What to put before each file's path in findings, usually the
    ///     directory as the user wrote it.
    /// - Returns: The findings, with their waivers.
    /// - Throws: ``MigrationLoadError`` for what makes the files unreadable: a missing
    ///   directory, a `.sql` file whose name does not fit, a duplicate version, a down
    ///   without its up, a down beside an up marked `-- strata:irreversible`, text that
    ///   is not UTF-8 or does not lex, an unknown directive.
    public static func lint(directory: URL, dialects: [SQLSplitDialect]? = nil, scope: LintScope = .all,
                            label: String = "") throws(MigrationLoadError) -> LintReport {
        let root = directory.path
        guard isDirectory(root) else { throw MigrationLoadError(file: root, message: "no such migrations directory") }
        let present = SQLSplitDialect.allCases.filter { isDirectory("\(root)/\($0.rawValue)") }
        let prefix = label.isEmpty ? "" : (label.hasSuffix("/") ? label : label + "/")
        var folders: [(dialect: SQLSplitDialect, folder: String?)]
        if present.isEmpty {
            guard let dialects, dialects.count == 1 else {
                throw MigrationLoadError(
                    file: root, message: "no postgres/ or mysql/ folder: say which dialect the files are written for")
            }
            folders = [(dialects[0], nil)]
        } else {
            let wanted = dialects ?? present
            for dialect in wanted where !present.contains(dialect) {
                throw MigrationLoadError(file: "\(dialect.rawValue)/", message: "no such folder")
            }
            folders = wanted.map { ($0, $0.rawValue) }
        }

        var findings: [LintFinding] = []
        var linted: [SQLSplitDialect: Int] = [:]
        var files = 0
        var catalogues: [SQLSplitDialect: [MigrationVersion: [MigrationDirection: MigrationFile]]] = [:]
        for (dialect, folder) in folders {
            let catalogue = try catalogue(root, folder: folder)
            catalogues[dialect] = catalogue
            var schema = LintSchema()
            var count = 0
            for (version, pair) in catalogue.sorted(by: { $0.key < $1.key }) {
                let judged = scope.contains(version)
                guard let upFile = pair[.up] else {
                    throw MigrationLoadError(file: pair[.down]!.path, message: "no matching .up.sql")
                }
                let up = try read(upFile, in: root, dialect: dialect)
                var fileFindings: [LintFinding] = []
                // The executor's own test: such a file runs statement by statement.
                let outsideTransaction = dialect == .mysql || up.directives.contains(.noTransaction)
                    || up.statements.contains(where: SQLSplitter.requiresNoTransaction)
                var checker = LintStatementChecker(dialect: dialect, file: prefix + upFile.path,
                                                   runsStatementByStatement: outsideTransaction)
                for statement in up.statements {
                    let recognised = DDLRecognizer.recognise(LintToken.tokens(of: statement, dialect: dialect))
                    if judged { checker.check(recognised, line: statement.line, index: statement.index, schema: schema) }
                    schema.apply(recognised, linted: judged)
                }
                guard judged else { continue }
                count += 1
                files += 1
                checker.finish()
                fileFindings += checker.findings
                let irreversible = up.directives.contains(.irreversible)
                if let downFile = pair[.down] {
                    guard !irreversible else {
                        // `migrate` refuses to load such a folder; so does the lint, in the same words.
                        throw MigrationLoadError(
                            file: downFile.path, message: "the up is marked -- strata:irreversible, so it cannot have a down")
                    }
                    let down = try read(downFile, in: root, dialect: dialect)
                    files += 1
                    var downFindings: [LintFinding] = []
                    if down.statements.isEmpty, !down.directives.contains(.irreversible) {
                        downFindings.append(LintFinding(
                            rule: .emptyDown, dialect: dialect, file: prefix + downFile.path, line: 1,
                            message: "the down is empty: `down` past \(upFile.versionSpelling)_\(upFile.name) changes nothing"))
                    }
                    findings += waived(downFindings, in: down, file: prefix + downFile.path, dialect: dialect)
                } else if !irreversible {
                    fileFindings.append(LintFinding(
                        rule: .missingDown, dialect: dialect, file: prefix + upFile.path, line: 1,
                        message: "no \(upFile.versionSpelling)_\(upFile.name).down.sql and no -- strata:irreversible"))
                }
                findings += waived(fileFindings, in: up, file: prefix + upFile.path, dialect: dialect)
            }
            linted[dialect] = count
        }
        findings += parityFindings(catalogues, scope: scope, prefix: prefix, root: root)
        return LintReport(findings: findings, migrationsLinted: linted, filesLinted: files)
    }

    // MARK: - Files

    private typealias Catalogue = [MigrationVersion: [MigrationDirection: MigrationFile]]

    private static func catalogue(_ root: String, folder: String?) throws(MigrationLoadError) -> Catalogue {
        let prefix = folder.map { "\($0)/" } ?? ""
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/\(prefix)")
        } catch {
            throw MigrationLoadError(file: folder ?? root, message: "cannot list the folder")
        }
        var catalogue: Catalogue = [:]
        for name in names.sorted() where !name.hasPrefix(".") && name.lowercased().hasSuffix(".sql") {
            let file = try MigrationFile(path: prefix + name)
            if let other = catalogue[file.version]?.values.first, other.name != file.name || other.versionSpelling != file.versionSpelling {
                throw MigrationLoadError(file: file.path, message: "duplicate version \(file.version): \(other.fileName) has it too")
            }
            catalogue[file.version, default: [:]][file.direction] = file
        }
        return catalogue
    }

    private static func read(_ file: MigrationFile, in root: String, dialect: SQLSplitDialect) throws(MigrationLoadError) -> MigrationScript {
        guard let data = FileManager.default.contents(atPath: "\(root)/\(file.path)") else {
            throw MigrationLoadError(file: file.path, message: "cannot read the file")
        }
        guard var sql = String(data: data, encoding: .utf8) else {
            throw MigrationLoadError(file: file.path, message: "not valid UTF-8")
        }
        if sql.unicodeScalars.first == "\u{FEFF}" { sql.unicodeScalars.removeFirst() }
        return try MigrationScript(file: file, sql: sql, dialect: dialect)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// ST403: each judged version of one dialect folder must be in the other, under the
    /// same name. The finding is in the file that exists, where its waiver can go.
    private static func parityFindings(
        _ catalogues: [SQLSplitDialect: Catalogue], scope: LintScope, prefix: String, root: String
    ) -> [LintFinding] {
        guard catalogues.count == 2 else { return [] }
        var findings: [LintFinding] = []
        for (dialect, catalogue) in catalogues {
            let otherDialect: SQLSplitDialect = dialect == .postgres ? .mysql : .postgres
            let other = catalogues[otherDialect] ?? [:]
            for (version, pair) in catalogue.sorted(by: { $0.key < $1.key }) where scope.contains(version) {
                guard let file = pair[.up] ?? pair[.down] else { continue }
                let counterpart = other[version]?[.up] ?? other[version]?[.down]
                let message: String
                if let counterpart {
                    guard counterpart.name != file.name else { continue }
                    message = "\(otherDialect.rawValue)/ has version \(file.versionSpelling) as \(counterpart.fileName)"
                } else {
                    message = "\(otherDialect.rawValue)/ has no version \(file.versionSpelling): the dialects are out of step"
                }
                let finding = LintFinding(rule: .dialectsOutOfStep, dialect: dialect, file: prefix + file.path, line: 1,
                                          message: message)
                let script = try? read(file, in: root, dialect: dialect)
                findings += script.map { waivedParity(finding, in: $0) } ?? [finding]
            }
        }
        return findings
    }

    /// A parity finding with a waiver the file gives for it (its other waivers were
    /// judged with the file).
    private static func waivedParity(_ finding: LintFinding, in script: MigrationScript) -> [LintFinding] {
        var finding = finding
        finding.waiver = LintWaivers(script, dialect: finding.dialect).valid.first { $0.codes.contains(finding.rule.code) }
        return [finding]
    }

    /// Attaches a file's waivers to its findings and reports the waivers that are
    /// malformed (ST404) or waive nothing (ST405).
    ///
    /// A finding about the whole file (``LintRule/isFileLevel``) takes a waiver from
    /// anywhere in it; any other finding only from the statement it is in.
    private static func waived(_ findings: [LintFinding], in script: MigrationScript, file: String,
                               dialect: SQLSplitDialect) -> [LintFinding] {
        let waivers = LintWaivers(script, dialect: dialect)
        var result: [LintFinding] = []
        var used = Set<Int>()
        for var finding in findings {
            let candidates = finding.rule.isFileLevel ? waivers.valid : waivers.covering(statement: finding.statement, line: finding.line)
            if let waiver = candidates.first(where: { $0.codes.contains(finding.rule.code) }) {
                finding.waiver = waiver
                used.insert(waiver.line)
            }
            result.append(finding)
        }
        for waiver in waivers.all {
            if let problem = waivers.problem(with: waiver) {
                result.append(LintFinding(rule: .badWaiver, dialect: dialect, file: file, line: waiver.line, message: problem))
            } else if !used.contains(waiver.line), !waiver.codes.contains(LintRule.dialectsOutOfStep.code) {
                let codes = waiver.codes.joined(separator: ", ")
                result.append(LintFinding(rule: .unusedWaiver, dialect: dialect, file: file, line: waiver.line,
                                          message: "the waiver for \(codes) matches no finding here"))
            }
        }
        return result
    }
}
