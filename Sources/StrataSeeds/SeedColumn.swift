import StrataSQL

/// A column a seed file may hold, with the rule its values follow.
///
/// The rules are at least as strict as the table's constraints, so a file that
/// validates never fails on a `CHECK` half-way through a load, and they also catch what
/// the database would take but nobody means (a key with spaces, a price of `1e3`).
struct SeedColumn: Sendable {
    enum Rule: Sendable {
        /// A natural key: `[a-z0-9_]+`, at most `maxLength` characters.
        case key(maxLength: Int)
        /// A provider's identifier: no spaces or control characters.
        case identifier(maxLength: Int)
        /// Text a person reads: no control characters, no surrounding spaces.
        case text(maxLength: Int)
        case integer(ClosedRange<Int64>)
        case boolean
        /// An ISO 4217 code: three upper-case ASCII letters.
        case currency
        case choice([String])
        case jsonObject
    }

    /// Why a value breaks its column's rule; the message names the column.
    struct InvalidValue: Error {
        var message: String
    }

    let name: String
    let rule: Rule
    /// The value of a row that leaves the column out; `nil` makes the column required.
    let defaultValue: SeedValue?

    init(_ name: String, _ rule: Rule, default defaultValue: SeedValue? = nil) {
        self.name = name
        self.rule = rule
        self.defaultValue = defaultValue
    }

    var isRequired: Bool { defaultValue == nil }

    /// What the rule asks for, as the end of a sentence that starts with the column's name.
    var requirement: String {
        switch rule {
        case .key(let n): "must be 1 to \(n) characters of a-z, 0-9 and _"
        case .identifier(let n): "must be 1 to \(n) characters without spaces or control characters"
        case .text(let n): "must be 1 to \(n) characters without control characters or surrounding spaces"
        case .integer(let r) where r.upperBound == .max: "must be an integer >= \(r.lowerBound)"
        case .integer(let r): "must be an integer from \(r.lowerBound) to \(r.upperBound)"
        case .boolean: "must be true or false"
        case .currency: "must be three upper-case letters (an ISO 4217 code such as USD)"
        case .choice(let options): "must be one of \(options.joined(separator: ", "))"
        case .jsonObject: "must be a JSON object"
        }
    }

    /// The value of a CSV field.
    ///
    /// - Throws: ``InvalidValue``.
    func value(fromText text: String) throws(InvalidValue) -> SeedValue {
        switch rule {
        case .key, .identifier, .text, .currency, .choice:
            return try checked(text)
        case .integer(let range):
            guard Self.isIntegerLiteral(text), let i = Int64(text), range.contains(i) else { throw invalid(quoted(text)) }
            return .integer(i)
        case .boolean:
            switch text.lowercased() {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw invalid(quoted(text))
            }
        case .jsonObject:
            guard let json = try? JSONReader.value(in: text) else { throw invalid("text that is not JSON") }
            return try checked(json)
        }
    }

    /// The value of a JSON field.
    ///
    /// - Throws: ``InvalidValue``.
    func value(fromJSON json: JSONValue) throws(InvalidValue) -> SeedValue {
        switch (rule, json) {
        case (.key, .string(let s)), (.identifier, .string(let s)), (.text, .string(let s)),
             (.currency, .string(let s)), (.choice, .string(let s)):
            return try checked(s)
        case (.integer(let range), .integer(let i)):
            guard range.contains(i) else { throw invalid(String(i)) }
            return .integer(i)
        case (.boolean, .bool(let b)):
            return .boolean(b)
        case (.jsonObject, _):
            return try checked(json)
        default:
            throw invalid(json.kindName + (json == .null ? "" : " (\(Self.shortened(json.canonicalText)))"))
        }
    }

    private func checked(_ s: String) throws(InvalidValue) -> SeedValue {
        let scalars = s.unicodeScalars
        let ok: Bool
        switch rule {
        case .key(let n):
            ok = (1...n).contains(scalars.count)
                && scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        case .identifier(let n):
            ok = (1...n).contains(scalars.count)
                && !scalars.contains { $0.properties.isWhitespace || $0.properties.generalCategory == .control }
        case .text(let n):
            ok = (1...n).contains(scalars.count)
                && !scalars.contains { $0.properties.generalCategory == .control }
                && !scalars.first!.properties.isWhitespace && !scalars.last!.properties.isWhitespace
        case .currency:
            ok = scalars.count == 3 && scalars.allSatisfy { ("A"..."Z").contains($0) }
        case .choice(let options):
            ok = options.contains(s)
        default:
            ok = false
        }
        guard ok else { throw invalid(quoted(s)) }
        return .text(s)
    }

    private func checked(_ json: JSONValue) throws(InvalidValue) -> SeedValue {
        guard case .object = json else { throw invalid(json.kindName) }
        guard !json.containsNUL else { throw InvalidValue(message: "\(name) must not contain the character U+0000") }
        return .json(json)
    }

    private func invalid(_ found: String) -> InvalidValue {
        InvalidValue(message: "\(name) \(requirement), not \(found)")
    }

    private func quoted(_ text: String) -> String {
        "\"" + Self.shortened(text) + "\""
    }

    private static func shortened(_ text: String) -> String {
        text.count > 40 ? text.prefix(40) + "…" : text
    }

    /// `-?[0-9]+`: what a person writes for an integer (no `+`, spaces or `1e3`).
    private static func isIntegerLiteral(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") ? text.utf8.dropFirst() : text.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
