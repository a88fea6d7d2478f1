/// A check `strata migrate lint` makes, with the code users know it by.
///
/// Codes follow published rule sets so that a finding reads the same as elsewhere:
/// Atlas's analyzers (`DS` destructive, `BC` backward-incompatible, `MF` might fail,
/// `PG` PostgreSQL locks, `MY` MySQL table copies), with squawk's rule name beside
/// each PostgreSQL rule squawk also has. `ST` codes are Strata's own: what neither tool
/// checks, or checks only inside its paid product. ``all`` lists every rule.
public struct LintRule: Hashable, Sendable, Identifiable {
    /// The code, such as `PG101`.
    public let code: String
    /// The severity of every finding of the rule.
    public let severity: LintSeverity
    /// What the rule catches, in a few words.
    public let title: String
    /// The safer way, shown under each finding.
    public let hint: String
    /// squawk's name for the same check, if squawk has one.
    public let squawk: String?
    /// The dialects whose files the rule reads.
    public let dialects: Set<SQLSplitDialect>

    public var id: String { code }

    init(_ code: String, _ severity: LintSeverity, _ dialects: Set<SQLSplitDialect>, squawk: String? = nil,
         title: String, hint: String) {
        self.code = code
        self.severity = severity
        self.dialects = dialects
        self.squawk = squawk
        self.title = title
        self.hint = hint
    }

    /// Whether the rule judges a file as a whole (its down, its counterpart), so that a
    /// waiver anywhere in the file covers it.
    public var isFileLevel: Bool { ["ST401", "ST402", "ST403"].contains(code) }

    public static func == (lhs: LintRule, rhs: LintRule) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// The rule with a code, if there is one.
    ///
    /// - Parameter code: A code such as `DS103`, in any case.
    public static func named(_ code: String) -> LintRule? {
        let upper = code.uppercased()
        return all.first { $0.code == upper }
    }
}
