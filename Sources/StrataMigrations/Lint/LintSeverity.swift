/// How much a lint finding matters to a pipeline.
///
/// Only an ``error`` fails `strata migrate lint`: it marks a change that loses data,
/// fails on a table with rows, or stops writes while it runs. A ``warning`` is a risk
/// that depends on the data or the traffic, worth a reviewer's look; a ``notice`` is
/// housekeeping, such as a waiver that no longer waives anything.
public enum LintSeverity: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case notice
    case warning
    case error

    public static func < (lhs: LintSeverity, rhs: LintSeverity) -> Bool {
        let order: [LintSeverity] = [.notice, .warning, .error]
        return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
    }
}
