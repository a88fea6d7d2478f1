/// What `strata migrate lint` found in the migrations it read.
///
/// Findings are in dialect, file and line order. ``passes`` is what a pipeline acts
/// on: an error-level finding that no waiver accepts fails the lint; warnings and
/// notices never do.
public struct LintReport: Sendable {
    /// Every finding, waived ones included.
    public var findings: [LintFinding]
    /// The migrations linted, by dialect.
    public var migrationsLinted: [SQLSplitDialect: Int]
    /// The files linted (ups and downs).
    public var filesLinted: Int

    /// Creates a report, sorting the findings.
    public init(findings: [LintFinding], migrationsLinted: [SQLSplitDialect: Int], filesLinted: Int) {
        self.findings = findings.sorted {
            ($0.dialect.rawValue, $0.file, $0.line, $0.rule.code) < ($1.dialect.rawValue, $1.file, $1.line, $1.rule.code)
        }
        self.migrationsLinted = migrationsLinted
        self.filesLinted = filesLinted
    }

    /// Findings no waiver accepts.
    public var open: [LintFinding] { findings.filter { !$0.isWaived } }

    /// How many open findings have a severity.
    public func count(_ severity: LintSeverity) -> Int { open.filter { $0.severity == severity }.count }

    /// How many findings waivers accept.
    public var waivedCount: Int { findings.count - open.count }

    /// Whether no open finding is an error.
    public var passes: Bool { count(.error) == 0 }
}
