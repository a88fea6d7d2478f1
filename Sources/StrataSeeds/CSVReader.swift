/// Splits RFC 4180 CSV text into records.
///
/// Fields are separated by commas and records by CRLF or LF. A field in double quotes
/// may hold commas, line breaks and doubled quotes (`""` is one `"`). A quote inside an
/// unquoted field, text after a closing quote, a lone carriage return or a quoted field
/// that never closes is an error naming its line, because a hand-edited file with any of
/// them almost never means what it seems to. Blank lines between records are skipped
/// and a UTF-8 byte order mark at the start is ignored. Field counts are not checked
/// here: the caller knows the header.
///
/// ```swift
/// let records = try CSVReader.records(in: "key,name\r\nx,\"A \"\"quoted\"\", name\"\r\n")
/// records[1].fields   // ["x", "A \"quoted\", name"]
/// ```
public enum CSVReader {
    /// The records of `text`, in order.
    ///
    /// - Throws: ``TextSyntaxError`` at the first malformed field.
    public static func records(in text: String) throws(TextSyntaxError) -> [CSVRecord] {
        var scanner = Scanner(bytes: Array(text.utf8))
        return try scanner.records()
    }

    // Every byte with a meaning here is ASCII, so scanning UTF-8 bytes never splits a character.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1

        static let quote = UInt8(ascii: "\"")
        static let comma = UInt8(ascii: ",")
        static let cr = UInt8(ascii: "\r")
        static let lf = UInt8(ascii: "\n")

        init(bytes: [UInt8]) {
            self.bytes = bytes
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        }

        mutating func records() throws(TextSyntaxError) -> [CSVRecord] {
            var records: [CSVRecord] = []
            while index < bytes.count {
                if skipLineBreak() { continue }   // a blank line
                let start = line
                var fields: [String] = []
                while true {
                    fields.append(try field())
                    if index < bytes.count && bytes[index] == Self.comma {
                        index += 1
                        continue
                    }
                    _ = skipLineBreak()
                    break
                }
                records.append(CSVRecord(line: start, fields: fields))
            }
            return records
        }

        /// Consumes CRLF or LF at the current position.
        mutating func skipLineBreak() -> Bool {
            if index < bytes.count && bytes[index] == Self.lf {
                index += 1
            } else if index + 1 < bytes.count && bytes[index] == Self.cr && bytes[index + 1] == Self.lf {
                index += 2
            } else {
                return false
            }
            line += 1
            return true
        }

        /// One field; stops before the comma or line break that ends it.
        mutating func field() throws(TextSyntaxError) -> String {
            var value: [UInt8] = []
            if index < bytes.count && bytes[index] == Self.quote {
                let opened = line
                index += 1
                while true {
                    guard index < bytes.count else {
                        throw TextSyntaxError(line: opened, message: "quoted field never closed (a quote in a quoted field is written \"\")")
                    }
                    let byte = bytes[index]
                    index += 1
                    if byte == Self.quote {
                        guard index < bytes.count && bytes[index] == Self.quote else { break }
                        index += 1
                    } else if byte == Self.lf {
                        line += 1
                    }
                    value.append(byte)
                }
                if index < bytes.count && bytes[index] != Self.comma && !atLineBreak {
                    throw TextSyntaxError(line: line, message: "text after the closing quote of a quoted field (a quote in a quoted field is written \"\")")
                }
            } else {
                while index < bytes.count && bytes[index] != Self.comma && !atLineBreak {
                    switch bytes[index] {
                    case Self.quote:
                        throw TextSyntaxError(line: line, message: "a quote inside an unquoted field (quote the whole field and write the quote as \"\")")
                    case Self.cr:
                        throw TextSyntaxError(line: line, message: "a carriage return that does not end a line")
                    default:
                        value.append(bytes[index])
                        index += 1
                    }
                }
            }
            return String(decoding: value, as: UTF8.self)
        }

        var atLineBreak: Bool {
            bytes[index] == Self.lf || (bytes[index] == Self.cr && index + 1 < bytes.count && bytes[index + 1] == Self.lf)
        }
    }
}
