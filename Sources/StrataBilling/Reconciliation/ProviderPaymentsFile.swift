import Crypto
import Foundation
import StrataSQL

/// The provider's side of a reconciliation: a CSV export of its payments.
///
/// The header names the columns `id,customer,amount,currency,created` (in any order,
/// case-insensitive; other columns are ignored). `amount` is an integer in minor units
/// (`4900` for 49.00 EUR: a decimal point is refused rather than guessed at), `currency`
/// three letters, `created` an ISO 8601 time in UTC (`2026-01-31T12:00:00Z`,
/// `2026-01-31 12:00:00`) or Unix seconds. Fields may be quoted with `"` (a quote inside
/// doubled). A malformed file is one ``ReconciliationError/invalidProviderFile(path:line:reason:)``
/// naming the file and the line.
///
/// ```swift
/// let file = try ProviderPaymentsFile(path: "payments.csv")
/// file.payments.count   // rows
/// file.sha256           // recorded on the run
/// ```
public struct ProviderPaymentsFile: Sendable, Hashable {
    public var path: String
    public var payments: [ProviderPayment]
    /// SHA-256 (hex) of the file's bytes: a run records which file it matched.
    public var sha256: String

    /// The columns the header must name.
    static let columns = ["id", "customer", "amount", "currency", "created"]

    /// Reads and parses a file.
    ///
    /// - Throws: ``ReconciliationError/invalidProviderFile(path:line:reason:)``.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReconciliationError.invalidProviderFile(path: path, line: 0, reason: "cannot be read")
        }
        try self.init(path: path, data: data)
    }

    /// Parses a file's bytes; `path` only names it in errors.
    public init(path: String, data: Data) throws {
        self.path = path
        sha256 = SHA256.hash(data: data).lowercaseHex
        func fail(_ line: Int, _ reason: String) -> ReconciliationError {
            .invalidProviderFile(path: path, line: line, reason: reason)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw fail(1, "is not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first else { throw fail(1, "is empty: the header id,customer,amount,currency,created is missing") }
        let names = try Self.fields(of: header, line: 1, fail).map {
            $0.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "\u{FEFF}", with: "")
        }
        var index: [String: Int] = [:]
        for column in Self.columns {
            guard let i = names.firstIndex(of: column) else {
                throw fail(1, "the header has no '\(column)' column (it needs id,customer,amount,currency,created)")
            }
            index[column] = i
        }
        var payments: [ProviderPayment] = []
        var seen: [String: Int] = [:]
        for (offset, line) in lines.enumerated().dropFirst() {
            let number = offset + 1
            if line.allSatisfy({ $0 == " " || $0 == "," }) { continue }
            let fields = try Self.fields(of: line, line: number, fail)
            guard fields.count == names.count else {
                throw fail(number, "has \(fields.count) fields where the header has \(names.count)")
            }
            func field(_ name: String) -> String { fields[index[name]!].trimmingCharacters(in: .whitespaces) }
            let id = field("id")
            guard !id.isEmpty, id.count <= 191 else { throw fail(number, "id must be 1 to 191 characters") }
            if let first = seen[id] { throw fail(number, "repeats the id '\(id)' of line \(first)") }
            seen[id] = number
            guard let amount = Int64(field("amount")) else {
                throw fail(number, "amount '\(field("amount"))' is not an integer number of minor units")
            }
            let currency = field("currency").uppercased()
            guard currency.count == 3, currency.allSatisfy({ ("A"..."Z").contains($0) }) else {
                throw fail(number, "currency '\(field("currency"))' is not a three-letter code")
            }
            guard let created = Self.time(field("created")) else {
                throw fail(number, "created '\(field("created"))' is not an ISO 8601 time or Unix seconds")
            }
            payments.append(ProviderPayment(id: id, customer: field("customer"), amount: amount, currency: currency,
                                            created: created, line: number))
        }
        self.payments = payments
    }

    /// A time as ISO 8601 or Unix seconds.
    static func time(_ text: String) -> SQLTimestamp? {
        if let seconds = Int64(text) {
            let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
            return overflow ? nil : SQLTimestamp(microsecondsSinceEpoch: micros)
        }
        return SQLTimestamp(parsing: text)
    }

    /// The fields of one CSV line: commas outside quotes separate, `""` in quotes is a quote.
    static func fields(of line: Substring, line number: Int,
                       _ fail: (Int, String) -> ReconciliationError) throws -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var wasQuoted = false
        var chars = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? chars.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = chars.next() {
                        if next == "\"" { current.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "," {
                fields.append(current)
                current = ""
                wasQuoted = false
            } else if c == "\"" {
                guard current.trimmingCharacters(in: .whitespaces).isEmpty, !wasQuoted else {
                    throw fail(number, "has a quote inside an unquoted field")
                }
                current = ""
                quoted = true
                wasQuoted = true
            } else {
                if wasQuoted && c != " " { throw fail(number, "has text after a closing quote") }
                current.append(c)
            }
        }
        if quoted { throw fail(number, "has a quote that is never closed") }
        fields.append(current)
        return fields
    }
}
