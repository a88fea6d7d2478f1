import StrataSQL

/// Why a reconciliation was refused before it ran. Nothing was written.
///
/// ```swift
/// do { _ = try ProviderPaymentsFile(path: "payments.csv") }
/// catch let error as ReconciliationError { print(error) }   // payments.csv:7: amount '49.00' is not …
/// ```
public enum ReconciliationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The period is empty or reversed (`until` must be after `since`), or outside
    /// 1970-01-01 to 9999-12-31.
    case invalidPeriod(since: SQLTimestamp, until: SQLTimestamp)
    /// The provider's payments file is malformed (line 0: the file itself).
    case invalidProviderFile(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case let .invalidPeriod(since, until):
            "the period must end after it starts, within 1970-01-01 to 9999-12-31: since \(since.iso8601), until \(until.iso8601)"
        case let .invalidProviderFile(path, line, reason):
            line > 0 ? "\(path):\(line): \(reason)" : "\(path): \(reason)"
        }
    }
}
