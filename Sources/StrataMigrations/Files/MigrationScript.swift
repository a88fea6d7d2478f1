/// One migration file, read, split and checksummed.
///
/// Loading splits every file, so a file the splitter cannot lex is reported when the
/// directory is loaded, not halfway through a deploy.
public struct MigrationScript: Hashable, Sendable {
    /// The file's name and path.
    public let file: MigrationFile
    /// The file's text as read (a UTF-8 byte order mark removed).
    public let sql: String
    /// The statements to execute, in order; empty for a no-op file.
    public let statements: [SQLStatement]
    /// The `-- strata:` directives the file gives.
    public let directives: MigrationDirectives
    /// The checksum of the file's normalised text.
    public let checksum: MigrationChecksum

    /// Splits and checksums a migration file's text.
    ///
    /// - Parameters:
    ///   - file: The file's parsed name.
    ///   - sql: The file's text.
    ///   - dialect: Whose lexical rules apply.
    /// - Throws: ``MigrationLoadError`` in the `file:line: message` form when the text
    ///   does not lex or names an unknown directive.
    public init(file: MigrationFile, sql: String, dialect: SQLSplitDialect) throws(MigrationLoadError) {
        self.file = file
        self.sql = sql
        do throws(SQLSplitError) {
            statements = try SQLSplitter.split(sql, dialect: dialect)
            directives = try MigrationDirectives(parsing: sql, dialect: dialect)
        } catch {
            throw MigrationLoadError(file: file.path, line: error.line, message: error.message)
        }
        checksum = MigrationChecksum(contents: sql)
    }
}
