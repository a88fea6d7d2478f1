import Foundation
import StrataDrivers
import StrataMigrations
import StrataSQL
import Testing

/// Schema snapshots read from the catalogue, and the differences `verify` and `parity` report.
@Suite("Schema snapshots")
struct SchemaSnapshotTests {
    typealias Table = SchemaSnapshot.Table
    typealias Column = SchemaSnapshot.Column
    typealias Index = SchemaSnapshot.Index
    typealias Check = SchemaSnapshot.Check
    typealias ForeignKey = SchemaSnapshot.ForeignKey

    // MARK: Reading the catalogue

    @Test(arguments: Backend.allCases)
    func readsEveryFeatureOfASmallSchema(_ backend: Backend) async throws {
        let (all, withoutParents) = try await withScratchDatabase(backend) { conn in
            try run(conn, SampleSchema.create(backend))
            let inspector = conn.dialect.schemaInspector
            return (try inspector.snapshot(conn, excluding: []), try inspector.snapshot(conn, excluding: ["parents"]))
        }

        #expect(all.tables.keys.sorted() == ["children", "parents"])
        #expect(withoutParents.tables.keys.sorted() == ["children"])
        #expect(withoutParents.tables["children"] == all.tables["children"])

        let parents = try #require(all.tables["parents"])
        #expect(parents.primaryKey == ["id"])
        #expect(parents.indexes == [Index(name: "uq_parents_code", columns: ["code"], unique: true)])

        let children = try #require(all.tables["children"])
        #expect(children.columns.map(\.name) == ["id", "parent_id", "parent_code", "state", "note", "flag",
                                                 "created_at", "payload", "raw", "price"])
        #expect(children.columns.map(\.family) == [.integer, .integer, .text, .text, .text, .boolean,
                                                   .timestamp, .json, .bytes, .decimal])
        #expect(children.columns.map(\.nullable) == [false, false, true, false, true, false,
                                                     false, true, true, false])
        let column = Dictionary(uniqueKeysWithValues: children.columns.map { ($0.name, $0) })
        #expect(column["state"]?.type == (backend == .postgres ? "character varying(16)" : "varchar(16)"))
        #expect(column["created_at"]?.type == (backend == .postgres ? "timestamp with time zone" : "datetime(6)"))
        #expect(column["state"]?.defaultValue?.contains("'pending'") == true)
        #expect(column["flag"]?.defaultValue != nil)
        #expect(column["id"]?.defaultValue != nil, "identity / auto_increment shows")
        #expect(column["note"]?.defaultValue == nil)
        #expect(column["payload"]?.defaultValue == nil, "MariaDB's DEFAULT NULL reads as no default")

        #expect(children.primaryKey == ["id"])
        #expect(children.indexes == [
            Index(name: "ix_children_parent", columns: ["parent_id"], unique: false),
            Index(name: "ix_children_parent_code", columns: ["parent_code"], unique: false),
            Index(name: "ix_children_state_created", columns: ["state", "created_at"], unique: false),
        ])
        // MariaDB's automatic json_valid check became the payload column's json family.
        #expect(children.checks.map(\.name) == ["ck_children_state"])
        #expect(children.checks.first?.expression.contains("pending") == true)

        let restrict = backend == .postgres ? "NO ACTION" : "RESTRICT"
        #expect(children.foreignKeys == [
            ForeignKey(name: "fk_children_parent", columns: ["parent_id"], referencedTable: "parents",
                       referencedColumns: ["id"], onDelete: "CASCADE", onUpdate: restrict),
            ForeignKey(name: "fk_children_parent_code", columns: ["parent_code"], referencedTable: "parents",
                       referencedColumns: ["code"], onDelete: restrict, onUpdate: restrict),
        ])
    }

    @Test(arguments: Backend.allCases)
    func snapshotAfterDownEqualsSnapshotBeforeUp(_ backend: Backend) async throws {
        let labels = ("before up", "after down")
        let lines = try await withScratchDatabase(backend) { conn -> [String: [String]] in
            try run(conn, SampleSchema.create(backend))
            let inspector = conn.dialect.schemaInspector
            func snapshot() throws -> SchemaSnapshot { try inspector.snapshot(conn, excluding: []) }
            func diff(_ a: SchemaSnapshot, _ b: SchemaSnapshot, _ labels: (String, String)) -> [String] {
                SchemaDiff.differences(from: a, to: b, mode: .exact, labels: labels)
            }
            let up = ["ALTER TABLE children ADD COLUMN extra BIGINT NULL",
                      "CREATE INDEX ix_children_flag ON children (flag)"]
            let dropIndex = SampleSchema.dropIndex("ix_children_flag", on: "children", backend)
            let dropColumn = "ALTER TABLE children DROP COLUMN extra"
            var lines: [String: [String]] = [:]

            let before = try snapshot()
            try run(conn, up)
            lines["up"] = diff(before, try snapshot(), ("before up", "after up"))
            try run(conn, [dropIndex, dropColumn])
            let afterDown = try snapshot()
            lines["down"] = diff(before, afterDown, labels)
            lines["equal"] = before == afterDown ? [] : ["snapshots differ"]

            try run(conn, up + [dropColumn])
            lines["index left"] = diff(before, try snapshot(), labels)
            try run(conn, [dropIndex])

            try run(conn, up + [dropIndex])
            lines["column left"] = diff(before, try snapshot(), labels)
            try run(conn, [dropColumn])

            // An up that drops an index and a down that puts it back the wrong way round.
            try run(conn, [SampleSchema.dropIndex("ix_children_state_created", on: "children", backend)])
            lines["index gone"] = diff(before, try snapshot(), labels)
            try run(conn, ["CREATE INDEX ix_children_state_created ON children (created_at, state)"])
            lines["index changed"] = diff(before, try snapshot(), labels)
            return lines
        }

        #expect(lines["up"] == ["table children: column extra only after up",
                                "table children: index ix_children_flag only after up"])
        #expect(lines["down"] == [])
        #expect(lines["equal"] == [])
        #expect(lines["index left"] == ["table children: index ix_children_flag only after down"])
        #expect(lines["column left"] == ["table children: column extra only after down"])
        #expect(lines["index gone"] == ["table children: index ix_children_state_created missing after down"])
        #expect(lines["index changed"] == [
            "table children: index ix_children_state_created: non-unique (state, created_at) before up, non-unique (created_at, state) after down",
        ])
    }

    @Test func sameSchemaInBothDialectsHasNoParityDifferences() async throws {
        let postgres = try await withScratchDatabase(.postgres) { conn in
            try run(conn, SampleSchema.create(.postgres))
            return try conn.dialect.schemaInspector.snapshot(conn, excluding: [])
        }
        let mysql = try await withScratchDatabase(.mysql) { conn in
            try run(conn, SampleSchema.create(.mysql))
            return try conn.dialect.schemaInspector.snapshot(conn, excluding: [])
        }

        #expect(SchemaDiff.differences(from: postgres, to: mysql, mode: .parity, labels: ("postgres", "mysql")) == [])
        // Not trivially so: the two servers spell types, checks and default actions differently.
        #expect(postgres != mysql)
        #expect(postgres.tables["children"]?.foreignKeys.last?.onDelete == "NO ACTION")
        #expect(mysql.tables["children"]?.foreignKeys.last?.onDelete == "RESTRICT")
        #expect(SchemaDiff.differences(from: postgres, to: mysql, mode: .exact).isEmpty == false)
    }

    @Test func parityListsNullabilityIndexesAndForeignKeyActions() async throws {
        // A table with a foreign key and no index of its own: MySQL adds one, PostgreSQL does not.
        let notes = "CREATE TABLE notes (id BIGINT NOT NULL PRIMARY KEY, child_id BIGINT NOT NULL, "
            + "CONSTRAINT fk_notes_child FOREIGN KEY (child_id) REFERENCES children (id))"
        let postgres = try await withScratchDatabase(.postgres) { conn in
            try run(conn, SampleSchema.create(.postgres) + [notes])
            return try conn.dialect.schemaInspector.snapshot(conn, excluding: [])
        }
        let mysql = try await withScratchDatabase(.mysql) { conn in
            try run(conn, SampleSchema.create(.mysql) + [notes] + [
                "ALTER TABLE children MODIFY note LONGTEXT NOT NULL",
                "DROP INDEX ix_children_state_created ON children",
                "ALTER TABLE children DROP FOREIGN KEY fk_children_parent",
                "ALTER TABLE children ADD CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE RESTRICT",
            ])
            return try conn.dialect.schemaInspector.snapshot(conn, excluding: [])
        }

        #expect(SchemaDiff.differences(from: postgres, to: mysql, mode: .parity, labels: ("postgres", "mysql")) == [
            "table children: column note: nullable in postgres, NOT NULL in mysql",
            "table children: index ix_children_state_created missing in mysql",
            "table children: foreign key fk_children_parent: (parent_id) REFERENCES parents (id) ON DELETE CASCADE in postgres, (parent_id) REFERENCES parents (id) ON DELETE RESTRICT in mysql",
            "table notes: index fk_notes_child only in mysql",
        ])
    }

    // MARK: SchemaDiff on hand-built snapshots

    private static let wallets = Table(
        name: "credit_wallets",
        columns: [
            Column(name: "id", type: "bigint", family: .integer, nullable: false, defaultValue: nil),
            Column(name: "customer_id", type: "bigint", family: .integer, nullable: false, defaultValue: nil),
            Column(name: "balance", type: "bigint", family: .integer, nullable: false, defaultValue: "0"),
            Column(name: "code", type: "character varying(64)", family: .text, nullable: true, defaultValue: nil),
        ],
        primaryKey: ["id"],
        indexes: [Index(name: "ix_wallets_code", columns: ["code"], unique: false),
                  Index(name: "uq_wallets_customer", columns: ["customer_id"], unique: true)],
        checks: [Check(name: "ck_wallets_balance", expression: "CHECK ((balance >= 0))")],
        foreignKeys: [ForeignKey(name: "fk_wallets_customer", columns: ["customer_id"], referencedTable: "customers",
                                 referencedColumns: ["id"], onDelete: "CASCADE", onUpdate: "NO ACTION")])

    private static let customers = Table(
        name: "customers",
        columns: [Column(name: "id", type: "bigint", family: .integer, nullable: false, defaultValue: nil)],
        primaryKey: ["id"])

    private static let schema = SchemaSnapshot(tables: ["credit_wallets": wallets, "customers": customers])

    private func changing(_ change: (inout Table) -> Void) -> SchemaSnapshot {
        var copy = Self.schema
        change(&copy.tables["credit_wallets"]!)
        return copy
    }

    @Test func equalSnapshotsHaveNoDifferences() {
        for mode in [SchemaDiff.Mode.exact, .parity] {
            #expect(SchemaDiff.differences(from: Self.schema, to: Self.schema, mode: mode) == [])
        }
        #expect(SchemaDiff.differences(from: SchemaSnapshot(), to: SchemaSnapshot(), mode: .exact) == [])
    }

    @Test func exactModeNamesEveryDifferenceInAFixedOrder() {
        let changed = changing { t in
            t.columns[2].type = "integer"
            t.columns[2].nullable = true
            t.columns[2].defaultValue = nil
            t.columns.swapAt(0, 1)
            t.columns.removeLast()
            t.columns.append(Column(name: "note", type: "text", family: .text, nullable: true, defaultValue: nil))
            t.primaryKey = ["id", "customer_id"]
            t.indexes = [Index(name: "uq_wallets_customer", columns: ["customer_id"], unique: false)]
            t.checks = [Check(name: "ck_wallets_balance", expression: "CHECK ((balance > 0))")]
            t.foreignKeys[0].onUpdate = "CASCADE"
        }
        let lines = SchemaDiff.differences(from: Self.schema, to: changed, mode: .exact, labels: ("before up", "after down"))
        #expect(lines == [
            "table credit_wallets: column balance: type bigint before up, integer after down",
            "table credit_wallets: column balance: NOT NULL before up, nullable after down",
            "table credit_wallets: column balance: default 0 before up, no default after down",
            "table credit_wallets: column code missing after down",
            "table credit_wallets: column note only after down",
            "table credit_wallets: column order (id, customer_id, balance) before up, (customer_id, id, balance) after down",
            "table credit_wallets: primary key (id) before up, primary key (id, customer_id) after down",
            "table credit_wallets: index ix_wallets_code missing after down",
            "table credit_wallets: index uq_wallets_customer: unique (customer_id) before up, non-unique (customer_id) after down",
            "table credit_wallets: check ck_wallets_balance: CHECK ((balance >= 0)) before up, CHECK ((balance > 0)) after down",
            "table credit_wallets: foreign key fk_wallets_customer: (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE NO ACTION before up, (customer_id) REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE after down",
        ])
        // The same inputs give the same lines.
        #expect(SchemaDiff.differences(from: Self.schema, to: changed, mode: .exact, labels: ("before up", "after down")) == lines)
    }

    @Test func tablesAreListedByNameOnEitherSide() {
        var other = Self.schema
        other.tables["customers"] = nil
        other.tables["agent_costs"] = Table(name: "agent_costs")
        other.tables["zebra"] = Table(name: "zebra")
        #expect(SchemaDiff.differences(from: Self.schema, to: other, mode: .exact) == [
            "table agent_costs only after down",
            "table customers missing after down",
            "table zebra only after down",
        ])
        #expect(SchemaDiff.differences(from: Self.schema, to: other, mode: .parity) == [
            "table agent_costs only in mysql",
            "table customers missing in mysql",
            "table zebra only in mysql",
        ])
    }

    @Test func exactModeSeesAJSONColumnThatLostItsFamily() {
        let a = SchemaSnapshot(tables: ["t": Table(name: "t", columns: [
            Column(name: "payload", type: "longtext", family: .json, nullable: true, defaultValue: nil)])])
        var b = a
        b.tables["t"]!.columns[0].family = .text
        #expect(SchemaDiff.differences(from: a, to: b, mode: .exact) == [
            "table t: column payload: type longtext (json) before up, longtext (text) after down",
        ])
    }

    @Test func parityComparesFamiliesNamesAndKeysNotSpellings() {
        // What MySQL reports for the same wallet table.
        let mysql = changing { t in
            t.columns[3].type = "varchar(64)"
            t.columns[2].defaultValue = nil
            t.columns[0].defaultValue = "auto_increment"
            t.checks = [Check(name: "ck_wallets_balance", expression: "`balance` >= 0")]
            t.foreignKeys[0].onUpdate = "RESTRICT"
            t.indexes[0].columns = ["code(20)"]
        }
        #expect(SchemaDiff.differences(from: Self.schema, to: mysql, mode: .parity) == [])

        var restrict = mysql
        restrict.tables["credit_wallets"]!.foreignKeys[0].onDelete = "RESTRICT"
        var noAction = Self.schema
        noAction.tables["credit_wallets"]!.foreignKeys[0].onDelete = "NO ACTION"
        #expect(SchemaDiff.differences(from: noAction, to: restrict, mode: .parity) == [], "RESTRICT = NO ACTION")

        let different = changing { t in
            t.columns[3] = Column(name: "code", type: "bytea", family: .bytes, nullable: false, defaultValue: nil)
            t.indexes[1].columns = ["customer_id(8)"]
            t.checks = []
            t.foreignKeys[0].onDelete = "SET NULL"
            t.foreignKeys[0].referencedColumns = ["external_id"]
        }
        #expect(SchemaDiff.differences(from: Self.schema, to: different, mode: .parity, labels: ("postgres", "mysql")) == [
            "table credit_wallets: column code: type family text (character varying(64)) in postgres, bytes (bytea) in mysql",
            "table credit_wallets: column code: nullable in postgres, NOT NULL in mysql",
            "table credit_wallets: index uq_wallets_customer: unique (customer_id) in postgres, unique (customer_id(8)) in mysql",
            "table credit_wallets: check ck_wallets_balance missing in mysql",
            "table credit_wallets: foreign key fk_wallets_customer: (customer_id) REFERENCES customers (id) ON DELETE CASCADE in postgres, (customer_id) REFERENCES customers (external_id) ON DELETE SET NULL in mysql",
        ])
    }

    @Test func labelsAreWordsOrPhrases() {
        let b = changing { $0.indexes.removeFirst() }
        #expect(SchemaDiff.differences(from: Self.schema, to: b, mode: .exact, labels: ("postgres", "mysql"))
            == ["table credit_wallets: index ix_wallets_code missing in mysql"])
        #expect(SchemaDiff.differences(from: Self.schema, to: b, mode: .exact, labels: ("before up", "after down"))
            == ["table credit_wallets: index ix_wallets_code missing after down"])
        #expect(SchemaDiff.differences(from: Self.schema, to: b, mode: .parity)
            == ["table credit_wallets: index ix_wallets_code missing in mysql"])
        #expect(SchemaDiff.differences(from: b, to: Self.schema, mode: .exact)
            == ["table credit_wallets: index ix_wallets_code only after down"])
    }
}

// MARK: Fixtures

/// The small schema every snapshot test reads, in each dialect: every feature a
/// snapshot holds, written so the two dialects are the same schema for `parity`.
private enum SampleSchema {
    static func create(_ backend: Backend) -> [String] {
        switch backend {
        case .postgres:
            [
                """
                CREATE TABLE parents (
                  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                  code VARCHAR(32) NOT NULL,
                  CONSTRAINT uq_parents_code UNIQUE (code))
                """,
                """
                CREATE TABLE children (
                  id BIGINT GENERATED BY DEFAULT AS IDENTITY,
                  parent_id BIGINT NOT NULL,
                  parent_code VARCHAR(32) NULL,
                  state VARCHAR(16) NOT NULL DEFAULT 'pending',
                  note TEXT NULL,
                  flag BOOLEAN NOT NULL DEFAULT FALSE,
                  created_at TIMESTAMPTZ NOT NULL,
                  payload JSONB NULL,
                  raw BYTEA NULL,
                  price NUMERIC(20,2) NOT NULL DEFAULT 0,
                  PRIMARY KEY (id),
                  CONSTRAINT ck_children_state CHECK (state IN ('pending', 'done')),
                  CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE CASCADE,
                  CONSTRAINT fk_children_parent_code FOREIGN KEY (parent_code) REFERENCES parents (code))
                """,
                "CREATE INDEX ix_children_parent ON children (parent_id)",
                "CREATE INDEX ix_children_parent_code ON children (parent_code)",
                "CREATE INDEX ix_children_state_created ON children (state, created_at)",
            ]
        case .mysql:
            // Indexes inline: one created after the table would come after MySQL's own
            // index for the foreign key.
            [
                """
                CREATE TABLE parents (
                  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
                  code VARCHAR(32) COLLATE utf8mb4_bin NOT NULL,
                  CONSTRAINT uq_parents_code UNIQUE (code)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
                """,
                """
                CREATE TABLE children (
                  id BIGINT NOT NULL AUTO_INCREMENT,
                  parent_id BIGINT NOT NULL,
                  parent_code VARCHAR(32) COLLATE utf8mb4_bin NULL,
                  state VARCHAR(16) NOT NULL DEFAULT 'pending',
                  note LONGTEXT NULL,
                  flag BOOLEAN NOT NULL DEFAULT FALSE,
                  created_at DATETIME(6) NOT NULL,
                  payload JSON NULL,
                  raw LONGBLOB NULL,
                  price DECIMAL(20,2) NOT NULL DEFAULT 0,
                  PRIMARY KEY (id),
                  KEY ix_children_parent (parent_id),
                  KEY ix_children_parent_code (parent_code),
                  KEY ix_children_state_created (state, created_at),
                  CONSTRAINT ck_children_state CHECK (state IN ('pending', 'done')),
                  CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id) ON DELETE CASCADE,
                  CONSTRAINT fk_children_parent_code FOREIGN KEY (parent_code) REFERENCES parents (code)
                ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
                """,
            ]
        }
    }

    static func dropIndex(_ index: String, on table: String, _ backend: Backend) -> String {
        backend == .postgres ? "DROP INDEX \(index)" : "DROP INDEX \(index) ON \(table)"
    }
}

private func run(_ conn: any SQLConnection, _ statements: [String]) throws {
    for sql in statements { try conn.executeUnprepared(sql) }
}

/// Runs `body` on a database of its own, created for it and dropped afterwards, so tests
/// running in parallel never see each other's tables.
private func withScratchDatabase<T: Sendable>(
    _ backend: Backend, _ body: @escaping @Sendable (any SQLConnection) throws -> T
) async throws -> T {
    let name = uniqueName("strata_snapshot")
    let admin = try backend.database(maxConnections: 1)
    try await admin.withConnection { try run($0, ["CREATE DATABASE \(name)"]) }
    let scratch = Database(url: try backend.url(database: name), maxConnections: 1, logger: TestLog.logger)
    let result: Result<T, any Error>
    do {
        result = .success(try await scratch.withConnection(body))
    } catch {
        result = .failure(error)
    }
    await scratch.close()
    try await admin.withConnection {
        try run($0, [backend == .postgres ? "DROP DATABASE \(name) WITH (FORCE)" : "DROP DATABASE \(name)"])
    }
    await admin.close()
    return try result.get()
}
