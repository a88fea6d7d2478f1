/// A body that writes its own JSON, byte for byte what ``JSONResponse/encoder`` makes of
/// it (keys sorted, absent optionals left out, `/` unescaped).
///
/// For the answers of the hottest routes only (`POST /billing/charges`): Foundation's
/// `JSONEncoder` builds a tree of its own values, sorts each object's keys and then
/// serializes, which cost about 4.5% of a charge's CPU in `strata serve` (perf under
/// `scripts/bench http`). `JSONWriterTests` holds each such body to the encoder's output.
protocol JSONWritable: Encodable {
    func write(to json: inout JSONWriter)
}

/// Writes one JSON document into a byte array. Objects take their members in the order
/// given: callers give them sorted, as the encoder's `.sortedKeys` would.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the object being written has a member yet (a stack, one entry a level).
    private var hasMember: [Bool] = []

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    static func document(_ value: some JSONWritable) -> [UInt8] {
        var json = JSONWriter()
        value.write(to: &json)
        return json.bytes
    }

    /// An object whose members `body` writes.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        hasMember.append(false)
        body(&self)
        hasMember.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func member(_ key: StaticString, _ value: Int64) {
        name(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func member(_ key: StaticString, _ value: Bool) {
        name(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func member(_ key: StaticString, _ value: String) {
        name(key)
        string(value)
    }

    /// Absent optionals are left out, as the encoder's synthesized `encodeIfPresent` does.
    mutating func member(_ key: StaticString, _ value: Int64?) {
        if let value { member(key, value) }
    }

    mutating func member(_ key: StaticString, _ value: String?) {
        if let value { member(key, value) }
    }

    mutating func member(_ key: StaticString, _ value: some JSONWritable) {
        name(key)
        value.write(to: &self)
    }

    private mutating func name(_ key: StaticString) {
        if hasMember[hasMember.count - 1] { bytes.append(UInt8(ascii: ",")) }
        hasMember[hasMember.count - 1] = true
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: "\":".utf8)
    }

    /// A string, escaped as the encoder escapes: `"` and `\`, and the control characters
    /// (`\b \f \n \r \t`, the others as `\u00XX`); everything else as its UTF-8.
    private mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x08: bytes.append(contentsOf: #"\b"#.utf8)
            case 0x0C: bytes.append(contentsOf: #"\f"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
