/// The `-- strata:lint-ignore` waivers of one file, and the statement each covers.
///
/// A waiver covers the statement whose lines it stands on (a comment at the end of a
/// statement's line, or inside it), or else the first statement after it: a waiver
/// above a statement, with blank lines or other comments between, still reaches it.
struct LintWaivers {
    /// Every waiver of the file, in line order, malformed ones included.
    let all: [LintWaiver]
    /// For each waiver (by index in ``all``), the index of the statement it covers.
    private let target: [Int?]
    /// Each statement's first and last line.
    private let spans: [ClosedRange<Int>]

    init(_ script: MigrationScript, dialect: SQLSplitDialect) {
        var lexer = SQLLexer(script.sql, dialect: dialect)
        var waivers: [LintWaiver] = []
        while let token = try? lexer.next() {
            guard token.kind == .lineComment, let waiver = LintWaiver(comment: lexer.text(token.range), line: token.line) else {
                continue
            }
            waivers.append(waiver)
        }
        all = waivers
        let spans = script.statements.map { statement in
            statement.line...(statement.line + statement.text.utf8.lazy.filter { $0 == 0x0A }.count)
        }
        self.spans = spans
        target = waivers.map { waiver in
            spans.firstIndex { $0.contains(waiver.line) } ?? spans.firstIndex { $0.lowerBound > waiver.line }
        }
    }

    /// The valid waivers that cover a statement: the one given by its index, or else
    /// the first on a line.
    func covering(statement: Int?, line: Int) -> [LintWaiver] {
        guard let statement = statement ?? spans.firstIndex(where: { $0.contains(line) }) else { return [] }
        return zip(all, target).filter { $0.1 == statement && problem(with: $0.0) == nil }.map(\.0)
    }

    /// The valid waivers anywhere in the file.
    var valid: [LintWaiver] { all.filter { problem(with: $0) == nil } }

    /// What is wrong with a waiver, or `nil` when it is well-formed.
    func problem(with waiver: LintWaiver) -> String? {
        if waiver.codes.isEmpty { return "-- strata:lint-ignore names no rule code (write -- strata:lint-ignore CODE reason)" }
        if let unknown = waiver.codes.first(where: { LintRule.named($0) == nil }) {
            return "-- strata:lint-ignore names \(unknown), which is no rule of strata migrate lint"
        }
        if waiver.reason.isEmpty {
            return "-- strata:lint-ignore \(waiver.codes.joined(separator: ", ")) gives no reason: it waives nothing until it says why"
        }
        return nil
    }
}
