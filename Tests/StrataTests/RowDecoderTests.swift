import Foundation
import StrataSQL
import Testing

/// `Row.decode(_:)`: a whole `Decodable` value, one property a column.
@Suite("Row decoder")
struct RowDecoderTests {
    enum Kind: String, Decodable { case credit, debit }
    enum Level: Int, Decodable { case low = 1, high = 2 }

    /// A type that decodes through a single-value container, as a column's value.
    struct Cents: Decodable, Equatable {
        var value: Int64
        init(value: Int64) { self.value = value }
        init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Int64.self) }
    }

    struct Everything: Decodable, Equatable {
        var id: Int64
        var count: Int
        var small: Int32
        var tiny: UInt8
        var ratio: Double
        var name: String
        var active: Bool
        var bytes: [UInt8]
        var data: Data
        var at: SQLTimestamp
        var date: Date
        var json: String
        var kind: Kind
        var level: Level
        var amount: Cents
        var note: String?
        var endedAt: SQLTimestamp?
        var maybeKind: Kind?

        enum CodingKeys: String, CodingKey {
            case id, count, small, tiny, ratio, name, active, bytes, data, at, date, json, kind, level, amount, note
            case endedAt = "ended_at", maybeKind = "maybe_kind"
        }
    }

    static let t = SQLTimestamp(microsecondsSinceEpoch: 1_700_000_000_123_456)

    static let everything: [(String, SQLValue)] = [
        ("id", .int(Int64.max)), ("count", .int(7)), ("small", .int(-3)), ("tiny", .int(255)), ("ratio", .double(0.5)),
        ("name", .string("Grüße")), ("active", .bool(true)), ("bytes", .bytes([0, 1, 255])), ("data", .bytes([9, 8])),
        ("at", .timestamp(t)), ("date", .timestamp(t)), ("json", .json(#"{"a":1}"#)), ("kind", .string("debit")),
        ("level", .int(2)), ("amount", .int(4900)), ("note", .null), ("ended_at", .null), ("maybe_kind", .string("credit")),
    ]

    func row(_ pairs: [(String, SQLValue)]) -> Row {
        Row(columns: ColumnIndex(pairs.map(\.0)), values: pairs.map(\.1))
    }

    /// The error `body` throws, as a `RowDecodingError`.
    func failure(_ body: () throws -> Void) -> RowDecodingError? {
        do {
            try body()
            return nil
        } catch {
            return error as? RowDecodingError
        }
    }

    @Test func decodesEverySupportedType() throws {
        let value = try row(Self.everything).decode(Everything.self)
        #expect(value == Everything(
            id: .max, count: 7, small: -3, tiny: 255, ratio: 0.5, name: "Grüße", active: true, bytes: [0, 1, 255],
            data: Data([9, 8]), at: Self.t, date: Self.t.date, json: #"{"a":1}"#, kind: .debit, level: .high,
            amount: Cents(value: 4900), note: nil, endedAt: nil, maybeKind: .credit))
    }

    @Test func readsColumnsAsDecodeAsDoes() throws {
        // The conversions of decode(_:as:): MySQL's TINYINT booleans, decimal sums, timestamps as text.
        var pairs = Self.everything
        pairs[pairs.firstIndex { $0.0 == "active" }!].1 = .int(1)
        pairs[pairs.firstIndex { $0.0 == "id" }!].1 = .decimal("42")
        pairs[pairs.firstIndex { $0.0 == "at" }!].1 = .string("2023-11-14 22:13:20.123456")
        pairs[pairs.firstIndex { $0.0 == "note" }!].1 = .string("hi")
        pairs[pairs.firstIndex { $0.0 == "ended_at" }!].1 = .timestamp(Self.t)
        pairs[pairs.firstIndex { $0.0 == "maybe_kind" }!].1 = .null
        let value = try row(pairs).decode(Everything.self)
        #expect(value.active)
        #expect(value.id == 42)
        #expect(value.at == Self.t)
        #expect(value.note == "hi")
        #expect(value.endedAt == Self.t)
        #expect(value.maybeKind == nil)
    }

    struct Pair: Decodable { var a: Int64; var b: String? }

    @Test func aMissingColumnHasDecodeAsMessageAndTheType() {
        let r = row([("a", .int(1)), ("c", .string("x"))])
        let single = failure { _ = try r.decode("b", as: String?.self) }
        let whole = failure { _ = try r.decode(Pair.self) }
        #expect(single?.description == "column 'b': no such column in the result (columns: a, c)")
        #expect(whole?.column == "b")
        #expect(whole?.message == single?.message)
        #expect(whole?.type == "Pair")
        // An optional property's column must be in the result too: a missing one is not nil.
        #expect(whole?.description == "column 'b': no such column in the result (columns: a, c) (decoding Pair)")
    }

    @Test func aWrongTypeHasDecodeAsMessageAndTheType() {
        let r = row([("a", .string("one")), ("b", .null)])
        let single = failure { _ = try r.decode("a", as: Int64.self) }
        let whole = failure { _ = try r.decode(Pair.self) }
        #expect(single?.description == "column 'a': string value cannot be read as Int64")
        #expect(whole?.description == "column 'a': string value cannot be read as Int64 (decoding Pair)")
        #expect(whole?.column == "a" && whole?.message == single?.message)
    }

    @Test func nullInANonOptionalPropertyIsAnError() {
        let error = failure { _ = try row([("a", .null), ("b", .null)]).decode(Pair.self) }
        #expect(error?.description == "column 'a': null value cannot be read as Int64 (decoding Pair)")
    }

    struct Tagged: Decodable { var kind: Kind; var level: Level? }

    @Test func enumsReadTheirRawValues() throws {
        let value = try row([("kind", .string("credit")), ("level", .int(1))]).decode(Tagged.self)
        #expect(value.kind == .credit && value.level == .low)
        #expect(try row([("kind", .string("debit")), ("level", .null)]).decode(Tagged.self).level == nil)

        let unknown = failure { _ = try row([("kind", .string("refund")), ("level", .null)]).decode(Tagged.self) }
        #expect(unknown?.column == "kind")
        #expect(unknown?.type == "Tagged")
        #expect(unknown?.message.contains("refund") == true)
        let wrongType = failure { _ = try row([("kind", .int(3)), ("level", .null)]).decode(Tagged.self) }
        #expect(wrongType?.description == "column 'kind': int value cannot be read as String (decoding Tagged)")
        let outOfRange = failure { _ = try row([("kind", .string("debit")), ("level", .int(9))]).decode(Tagged.self) }
        #expect(outOfRange?.column == "level")
    }

    @Test func integersMustFit() {
        struct Small: Decodable { var tiny: UInt8 }
        let error = failure { _ = try row([("tiny", .int(256))]).decode(Small.self) }
        #expect(error?.description == "column 'tiny': int value cannot be read as UInt8 (decoding Small)")
    }

    @Test func columnsMatchAsDecodeAsMatchesThem() throws {
        // Extra columns are ignored; names match case-insensitively, as decode(_:as:) finds them.
        let value = try row([("A", .int(5)), ("extra", .bool(false)), ("b", .string("x"))]).decode(Pair.self)
        #expect(value.a == 5 && value.b == "x")
    }

    @Test func shapesAColumnCannotHoldAreClearErrors() {
        struct Listy: Decodable { var tags: [String] }
        struct Inner: Decodable { var x: Int }
        struct Nested: Decodable { var inner: Inner }
        let list = failure { _ = try row([("tags", .string("a,b"))]).decode(Listy.self) }
        #expect(list?.description == "column 'tags': a column holds one string value and cannot be read as a list (decoding Listy)")
        let nested = failure { _ = try row([("inner", .json("{}"))]).decode(Nested.self) }
        #expect(nested?.description == "column 'inner': a column holds one json value and cannot be read as a keyed value (decoding Nested)")
        let single = failure { _ = try row([("a", .int(1))]).decode(Int64.self) }
        #expect(single?.type == "Int64")
        #expect(single?.column == "")
    }

    @Test func timestampsDecodeFromTheirTextElsewhere() throws {
        let decoded = try JSONDecoder().decode([SQLTimestamp].self, from: Data(#"["2023-11-14T22:13:20.123456Z"]"#.utf8))
        #expect(decoded == [Self.t])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([SQLTimestamp].self, from: Data(#"["soon"]"#.utf8)) }
    }

    // Both backends, through a real SELECT: MySQL's TINYINT booleans, DATETIME(6)
    // timestamps, JSON documents, BIGINT credits and NULLs.

    struct Stored: Decodable, Equatable {
        var id: Int64
        var credits: Int64
        var active: Bool
        var kind: Kind
        var createdAt: SQLTimestamp
        var closedAt: SQLTimestamp?
        var details: String
        var note: String?
        var payload: [UInt8]

        enum CodingKeys: String, CodingKey {
            case id, credits, active, kind, details, note, payload
            case createdAt = "created_at", closedAt = "closed_at"
        }
    }

    @Test(arguments: Backend.allCases)
    func decodesARealSelect(_ backend: Backend) async throws {
        let db = try backend.database(maxConnections: 1)
        let table = uniqueName("rowdec")
        let f = backend.fixture
        let rows = try await db.withConnection { conn in
            try conn.executeUnprepared("""
                CREATE TABLE \(table) (id BIGINT PRIMARY KEY, credits BIGINT NOT NULL, active BOOLEAN NOT NULL,
                    kind \(f.textType) NOT NULL, created_at \(f.timestampType) NOT NULL, closed_at \(f.timestampType) NULL,
                    details \(f.jsonType) NOT NULL, note \(f.textType) NULL, payload \(f.bytesType) NOT NULL)
                """)
            defer { _ = try? conn.executeUnprepared("DROP TABLE \(table)") }
            try conn.execute("""
                INSERT INTO \(identifier: table) (id, credits, active, kind, created_at, closed_at, details, note, payload)
                VALUES (1, \(Int64(9_000_000_000_000)), \(true), 'credit', \(Self.t), NULL, \(SQLJSON(#"{"a":1}"#)), NULL, \([UInt8]([1, 2]))),
                       (2, \(Int64(-5)), \(false), 'debit', \(Self.t), \(Self.t.adding(microseconds: 1)), \(SQLJSON("[]")), 'n', \([UInt8]()))
                """)
            return try conn.query("""
                SELECT id, credits, active, kind, created_at, closed_at, details, note, payload FROM \(identifier: table) ORDER BY id
                """).map { try $0.decode(Stored.self) }
        }
        await db.close()
        #expect(rows.count == 2)
        #expect(rows.first == Stored(id: 1, credits: 9_000_000_000_000, active: true, kind: .credit, createdAt: Self.t,
                                     closedAt: nil, details: rows.first?.details ?? "", note: nil, payload: [1, 2]))
        #expect(try JSONSerialization.jsonObject(with: Data(rows[0].details.utf8)) as? [String: Int] == ["a": 1])
        #expect(rows.last == Stored(id: 2, credits: -5, active: false, kind: .debit, createdAt: Self.t,
                                    closedAt: Self.t.adding(microseconds: 1), details: "[]", note: "n", payload: []))
    }
}
