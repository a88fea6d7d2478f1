import StrataSQL

/// Reads RFC 8259 JSON and keeps the line of every top-level object and field.
///
/// `JSONSerialization` says neither where an object starts nor whether `1` was a number
/// or `true` (on Linux both come back as `NSNumber`); seed errors need both. The reader
/// is strict: no comments, no trailing commas, no duplicate names in an object, no raw
/// control characters in strings, and at most 64 levels of nesting.
///
/// ```swift
/// let records = try JSONReader.records(in: "[\n  {\"code\": \"free\"}\n]")
/// records[0].line             // 2
/// records[0].fields[0].value  // .string("free")
/// ```
public enum JSONReader {
    /// The objects of a document that is one array of objects.
    ///
    /// - Throws: ``TextSyntaxError`` at the first place the text is not such a document.
    public static func records(in text: String) throws(TextSyntaxError) -> [JSONRecord] {
        var parser = Parser(bytes: Array(text.utf8))
        return try parser.topLevelRecords()
    }

    /// The value of a whole document.
    ///
    /// - Throws: ``TextSyntaxError`` when the text is not one JSON value.
    public static func value(in text: String) throws(TextSyntaxError) -> JSONValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        try parser.expectEnd()
        return value
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        static let maxDepth = 64

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        func fail(_ message: String) -> TextSyntaxError {
            TextSyntaxError(line: line, message: message)
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        /// What is at the current position, for error messages.
        var found: String {
            guard let c = current else { return "the end of the file" }
            if c >= 0x21 && c < 0x7F { return "'\(Character(Unicode.Scalar(c)))'" }
            return "a byte 0x\(String(c, radix: 16))"
        }

        mutating func skipWhitespace() {
            while let c = current {
                switch c {
                case UInt8(ascii: "\n"): line += 1
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
                default: return
                }
                index += 1
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(TextSyntaxError) {
            guard current == byte else { throw fail("expected \(what), found \(found)") }
            index += 1
        }

        mutating func expectEnd() throws(TextSyntaxError) {
            skipWhitespace()
            guard current == nil else { throw fail("text after the end of the document: \(found)") }
        }

        mutating func topLevelRecords() throws(TextSyntaxError) -> [JSONRecord] {
            skipWhitespace()
            guard current == UInt8(ascii: "[") else {
                throw fail("expected the file to be a JSON array of objects ('['), found \(found)")
            }
            index += 1
            var records: [JSONRecord] = []
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                index += 1
                try expectEnd()
                return records
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "{") else {
                    throw fail("expected an object ('{') as element \(records.count + 1) of the array, found \(found)")
                }
                let start = line
                let fields = try objectFields(depth: 1)
                records.append(JSONRecord(line: start, fields: fields))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"), "',' or ']' after an object of the array")
                try expectEnd()
                return records
            }
        }

        /// An object's fields in order, with their lines; at `{`.
        mutating func objectFields(depth: Int) throws(TextSyntaxError) -> [JSONRecord.Field] {
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            index += 1
            var fields: [JSONRecord.Field] = []
            var seen: [String: Int] = [:]
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                index += 1
                return fields
            }
            while true {
                skipWhitespace()
                guard current == UInt8(ascii: "\"") else { throw fail("expected a field name in double quotes, found \(found)") }
                let nameLine = line
                let name = try string()
                if let first = seen[name] {
                    throw TextSyntaxError(line: nameLine, message: "duplicate field \"\(name)\" in one object (first on line \(first))")
                }
                seen[name] = nameLine
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':' after the field name \"\(name)\"")
                skipWhitespace()
                let value = try value(depth: depth + 1)
                fields.append(JSONRecord.Field(name: name, line: nameLine, value: value))
                skipWhitespace()
                if current == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}' after the value of \"\(name)\"")
                return fields
            }
        }

        mutating func value(depth: Int) throws(TextSyntaxError) -> JSONValue {
            guard depth <= Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth) levels") }
            // 0 never starts a value: the end of the file lands in `default`.
            switch current ?? 0 {
            case UInt8(ascii: "{"):
                var members: [String: JSONValue] = [:]
                for field in try objectFields(depth: depth) { members[field.name] = field.value }
                return .object(members)
            case UInt8(ascii: "["):
                index += 1
                var items: [JSONValue] = []
                skipWhitespace()
                if current == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                while true {
                    skipWhitespace()
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    if current == UInt8(ascii: ",") {
                        index += 1
                        continue
                    }
                    try expect(UInt8(ascii: "]"), "',' or ']' in an array")
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw fail("expected a value, found \(found)")
            }
        }

        mutating func literal(_ word: String) throws(TextSyntaxError) {
            let w = Array(word.utf8)
            guard index + w.count <= bytes.count, Array(bytes[index..<(index + w.count)]) == w else {
                throw fail("expected a value, found \(found) (strings need double quotes)")
            }
            index += w.count
        }

        mutating func number() throws(TextSyntaxError) -> JSONValue {
            let start = index
            var isInteger = true
            func digits(_ p: inout Parser) -> Int {
                var n = 0
                while let c = p.current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { p.index += 1; n += 1 }
                return n
            }
            if current == UInt8(ascii: "-") { index += 1 }
            if current == UInt8(ascii: "0") {
                index += 1
                if let c = current, c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") {
                    throw fail("a number with a leading zero")
                }
            } else if digits(&self) == 0 {
                throw fail("expected digits in a number, found \(found)")
            }
            if current == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard digits(&self) > 0 else { throw fail("expected digits after the decimal point, found \(found)") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard digits(&self) > 0 else { throw fail("expected digits in the exponent, found \(found)") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let i = Int64(text) { return .integer(i) }
            guard let d = Double(text), d.isFinite else { throw fail("number \(text) is out of range") }
            return .number(d)
        }

        /// A string; at its opening quote.
        mutating func string() throws(TextSyntaxError) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw fail("string never closed") }
                index += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = current else { throw fail("string never closed") }
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        out.append(contentsOf: Array(String(try unicodeEscape()).utf8))
                    default:
                        throw fail("unknown escape '\\\(Character(Unicode.Scalar(e)))' in a string")
                    }
                case 0..<0x20:
                    throw fail(c == 0x0A ? "string never closed before the end of the line" : "a control character in a string (write it as an escape)")
                default:
                    out.append(c)
                }
            }
        }

        /// The scalar of `\uXXXX` (after the `u`), with a surrogate pair's second half.
        mutating func unicodeEscape() throws(TextSyntaxError) -> Character {
            let high = try hex4()
            if (0xD800...0xDBFF).contains(high) {
                guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                    throw fail("a \\u escape of a lone surrogate")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw fail("a \\u escape of a lone surrogate") }
                let value = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                return Character(Unicode.Scalar(value)!)
            }
            guard let scalar = Unicode.Scalar(high) else { throw fail("a \\u escape of a lone surrogate") }
            return Character(scalar)
        }

        mutating func hex4() throws(TextSyntaxError) -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current else { throw fail("expected four hex digits after \\u") }
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw fail("expected four hex digits after \\u, found \(found)")
                }
                v = v * 16 + digit
                index += 1
            }
            return v
        }
    }
}
