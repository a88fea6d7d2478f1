/// Every rule, with its severity and the safer way.
///
/// Severity follows one test: `error` when the change, applied to a table that has rows
/// and traffic, loses data, fails outright, or stops writes (or reads) for as long as it
/// takes; `warning` when it may fail or hurt depending on the data, the clients or the
/// lock queue; `notice` for housekeeping.
extension LintRule {
    private static let both: Set<SQLSplitDialect> = [.postgres, .mysql]

    // MARK: Destructive (Atlas DS)

    static let dropSchema = LintRule(
        "DS101", .error, both, squawk: "ban-drop-schema / ban-drop-database",
        title: "DROP SCHEMA or DROP DATABASE",
        hint: "back up what it holds first; drop it by hand once nothing uses it, not in a deploy")
    static let dropTable = LintRule(
        "DS102", .error, both, squawk: "ban-drop-table",
        title: "DROP TABLE of an existing table",
        hint: "stop using the table in one release, check it is empty or archived, drop it in a later one")
    static let dropColumn = LintRule(
        "DS103", .error, both, squawk: "ban-drop-column",
        title: "DROP COLUMN of an existing table",
        hint: "stop reading and writing the column first; drop it in a later release, after a check that it holds nothing needed")
    static let truncate = LintRule(
        "ST101", .error, both,
        title: "TRUNCATE of an existing table",
        hint: "delete rows by a condition (in batches), or keep a copy; TRUNCATE also takes an ACCESS EXCLUSIVE / metadata lock")

    // MARK: Backward-incompatible (Atlas BC)

    static let renameTable = LintRule(
        "BC101", .warning, both, squawk: "renaming-table",
        title: "renaming a table",
        hint: "the running release still uses the old name: create the new table (or a view under the old name) and move clients first")
    static let renameColumn = LintRule(
        "BC102", .warning, both, squawk: "renaming-column",
        title: "renaming a column",
        hint: "add the new column, write both, backfill, move readers, then drop the old one in a later release")

    // MARK: Might fail on existing data (Atlas MF)

    static let addUnique = LintRule(
        "MF101", .warning, both,
        title: "unique index or constraint on an existing table",
        hint: "check for duplicates first (SELECT … GROUP BY … HAVING COUNT(*) > 1) and clean them up, or the migration fails")
    static let addRequiredColumn = LintRule(
        "MF103", .error, [.postgres], squawk: "adding-required-field",
        title: "NOT NULL column without a default added to an existing table",
        hint: "add it with a DEFAULT, or nullable, backfill in batches, then SET NOT NULL (see PG303)")
    static let setNotNull = LintRule(
        "MF104", .warning, both,
        title: "a nullable column made NOT NULL",
        hint: "backfill first (UPDATE … SET c = … WHERE c IS NULL), or the migration fails on the first NULL")

    // MARK: PostgreSQL locks (Atlas PG)

    static let createIndexLocking = LintRule(
        "PG101", .error, [.postgres], squawk: "require-concurrent-index-creation",
        title: "CREATE INDEX without CONCURRENTLY on an existing table",
        hint: "CREATE INDEX CONCURRENTLY (it cannot run in a transaction: give it a migration of its own, which Strata runs outside one)")
    static let dropIndexLocking = LintRule(
        "PG102", .error, [.postgres], squawk: "require-concurrent-index-deletion",
        title: "DROP INDEX without CONCURRENTLY",
        hint: "DROP INDEX CONCURRENTLY, in a migration of its own")
    static let addPrimaryKeyLocking = LintRule(
        "PG104", .error, [.postgres], squawk: "adding-serial-primary-key-field",
        title: "PRIMARY KEY added to an existing table without USING INDEX",
        hint: "CREATE UNIQUE INDEX CONCURRENTLY first, then ALTER TABLE … ADD PRIMARY KEY USING INDEX that_index")
    static let addUniqueLocking = LintRule(
        "PG105", .error, [.postgres], squawk: "disallowed-unique-constraint",
        title: "UNIQUE constraint added to an existing table without USING INDEX",
        hint: "CREATE UNIQUE INDEX CONCURRENTLY first, then ALTER TABLE … ADD CONSTRAINT … UNIQUE USING INDEX that_index")
    static let columnTypeRewrite = LintRule(
        "PG301", .error, [.postgres], squawk: "changing-column-type",
        title: "column type change that rewrites the table",
        hint: "add a column of the new type, backfill it in batches, switch clients, drop the old one later (varchar → a longer varchar or text does not rewrite)")
    static let volatileDefault = LintRule(
        "PG302", .error, [.postgres], squawk: "adding-field-with-default",
        title: "column added with a volatile or per-row value (random(), gen_random_uuid(), clock_timestamp(), serial, identity, STORED)",
        hint: "add the column without it (or with a constant default), set the default after, and backfill existing rows in batches")
    static let setNotNullScan = LintRule(
        "PG303", .warning, [.postgres], squawk: "adding-not-nullable-field",
        title: "SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock",
        hint: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL uses it without a scan")
    static let primaryKeyOnNullable = LintRule(
        "PG304", .warning, [.postgres],
        title: "PRIMARY KEY on nullable columns: an implicit SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock",
        hint: "first ADD CONSTRAINT … CHECK (c IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, SET NOT NULL; then the primary key")
    static let checkWithoutNotValid = LintRule(
        "PG305", .warning, [.postgres], squawk: "constraint-missing-not-valid",
        title: "CHECK constraint added to an existing table without NOT VALID",
        hint: "ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT in a later statement (it takes a lock that lets writes through)")

    // MARK: MySQL (Atlas MY)

    static let mysqlRequiredColumn = LintRule(
        "MY101", .warning, [.mysql],
        title: "NOT NULL column without a DEFAULT added to an existing table",
        hint: "existing rows silently get the type's zero value (0, '', 0000-00-00): give the column an explicit DEFAULT")
    static let enumValueRemoved = LintRule(
        "MY110", .error, [.mysql],
        title: "ENUM values removed: the table is copied",
        hint: "keep the values (stop writing them instead); a copy locks writes and fails on rows that still hold them")
    static let enumReordered = LintRule(
        "MY111", .error, [.mysql],
        title: "ENUM values reordered: the table is copied",
        hint: "keep the order; only appending values at the end is done in place")
    static let enumInsertedNotAtEnd = LintRule(
        "MY112", .error, [.mysql],
        title: "ENUM value inserted before the end: the table is copied",
        hint: "append new values at the end of the list")
    static let enumStorageGrows = LintRule(
        "MY113", .error, [.mysql],
        title: "ENUM grows past 255 values: the table is copied",
        hint: "a lookup table with a foreign key scales better than a long ENUM")
    static let setValueRemoved = LintRule(
        "MY120", .error, [.mysql],
        title: "SET values removed: the table is copied",
        hint: "keep the values; a copy locks writes")
    static let setReordered = LintRule(
        "MY121", .error, [.mysql],
        title: "SET values reordered: the table is copied",
        hint: "keep the order; only appending values at the end is done in place")
    static let setInsertedNotAtEnd = LintRule(
        "MY122", .error, [.mysql],
        title: "SET value inserted before the end: the table is copied",
        hint: "append new values at the end of the list")
    static let setStorageGrows = LintRule(
        "MY123", .error, [.mysql],
        title: "SET grows past 8, 16, 24, 32 values: its storage size changes and the table is copied",
        hint: "plan the copy (pt-online-schema-change, gh-ost) or use a join table")

    // MARK: Strata's own

    static let nonAtomicFile = LintRule(
        "ST201", .warning, both,
        title: "several DDL statements in a migration that runs statement by statement (MySQL; PostgreSQL outside a transaction) and changes an existing table",
        hint: "one change to an existing table per such migration: then a failure cannot leave the schema half-changed")
    static let foreignKeyWithoutNotValid = LintRule(
        "ST301", .warning, [.postgres], squawk: "adding-foreign-key-constraint",
        title: "FOREIGN KEY added to an existing table without NOT VALID",
        hint: "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a later statement")
    static let missingLockTimeout = LintRule(
        "ST302", .warning, [.postgres], squawk: "require-lock-timeout",
        title: "DDL on an existing table without a lock_timeout set earlier in the file",
        hint: "SET lock_timeout = '2s'; before it: a DDL statement waiting behind a long query blocks every query queued after it")
    static let missingDown = LintRule(
        "ST401", .error, both,
        title: "up without a down, not marked -- strata:irreversible",
        hint: "write the down, or say -- strata:irreversible in the up so that `down` refuses to pass it")
    static let emptyDown = LintRule(
        "ST402", .warning, both,
        title: "empty down not marked -- strata:irreversible",
        hint: "write the down; if reverting deliberately changes nothing, say so with -- strata:irreversible in the down")
    static let dialectsOutOfStep = LintRule(
        "ST403", .error, both,
        title: "a version in one dialect folder but not the other",
        hint: "write the migration for both dialects (strata migrate new creates both), under the same name")
    static let badWaiver = LintRule(
        "ST404", .error, both,
        title: "a lint-ignore waiver without a reason or a known code",
        hint: "write -- strata:lint-ignore CODE why this is safe here")
    static let unusedWaiver = LintRule(
        "ST405", .notice, both,
        title: "a lint-ignore waiver that waives nothing",
        hint: "remove it, or move it onto the statement it means")

    /// Every rule, in the order the README lists them.
    public static let all: [LintRule] = [
        dropSchema, dropTable, dropColumn, truncate,
        renameTable, renameColumn,
        addUnique, addRequiredColumn, setNotNull,
        createIndexLocking, dropIndexLocking, addPrimaryKeyLocking, addUniqueLocking,
        columnTypeRewrite, volatileDefault, setNotNullScan, primaryKeyOnNullable, checkWithoutNotValid,
        mysqlRequiredColumn, enumValueRemoved, enumReordered, enumInsertedNotAtEnd, enumStorageGrows,
        setValueRemoved, setReordered, setInsertedNotAtEnd, setStorageGrows,
        nonAtomicFile, foreignKeyWithoutNotValid, missingLockTimeout,
        missingDown, emptyDown, dialectsOutOfStep, badWaiver, unusedWaiver,
    ]
}
