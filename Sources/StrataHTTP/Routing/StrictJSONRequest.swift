/// A JSON request body whose members are exactly its coding keys: an unknown member is
/// a `400`, not silently ignored, so a misspelt optional field never goes unnoticed.
protocol StrictJSONRequest: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable

    /// The request from an object whose members are all plain strings (``PlainStringObject``),
    /// or `nil` when those members do not make one (one missing, one unknown): the body is
    /// then decoded in full, which names the problem. By default always `nil`.
    init?(plainStrings: PlainStringObject)
}

extension StrictJSONRequest {
    init?(plainStrings: PlainStringObject) { nil }
}

/// A JSON object read by a fast path for the hottest request bodies
/// (`{"agent": "…", "run_id": "…"}`): one level, every value a string without escapes,
/// no member twice, valid UTF-8. Anything else is not read here (``read(_:)`` returns
/// `nil`) and goes to `JSONDecoder`, which accepts what JSON allows and gives every
/// refusal its message: the fast path decides nothing the decoder would decide
/// otherwise. Foundation's decoder cost about 3.5% of a charge's CPU in `strata serve`
/// (perf under `scripts/bench http`).
struct PlainStringObject {
    private(set) var members: [(name: String, value: String)] = []

    /// The member's value, if the object has it.
    subscript(name: String) -> String? {
        members.first { $0.name == name }?.value
    }

    /// The object of `bytes`, when it is one of plain strings; else `nil`.
    static func read(_ bytes: UnsafeRawBufferPointer) -> PlainStringObject? {
        var reader = Reader(bytes: bytes)
        var object = PlainStringObject()
        reader.skipBlanks()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        reader.skipBlanks()
        if !reader.take(UInt8(ascii: "}")) {
            while true {
                reader.skipBlanks()
                guard let name = reader.plainString() else { return nil }
                reader.skipBlanks()
                guard reader.take(UInt8(ascii: ":")) else { return nil }
                reader.skipBlanks()
                guard let value = reader.plainString() else { return nil }
                // A name given twice: which one JSON means is the decoder's to say.
                guard object[name] == nil, object.members.count < 16 else { return nil }
                object.members.append((name, value))
                reader.skipBlanks()
                if reader.take(UInt8(ascii: "}")) { break }
                guard reader.take(UInt8(ascii: ",")) else { return nil }
            }
        }
        reader.skipBlanks()
        return reader.atEnd ? object : nil
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// JSON's insignificant whitespace: space, tab, line feed, carriage return.
        mutating func skipBlanks() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        /// A string with no escape and no control character, as valid UTF-8; else `nil`.
        mutating func plainString() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }
    }
}
