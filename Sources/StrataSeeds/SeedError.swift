/// Seed files that failed validation: nothing was loaded.
///
/// Validation reads every row of every requested file before anything is written, so one
/// error lists every problem found, in file and line order. `description` is one line:
/// the first problem, and how many more there are.
///
/// ```swift
/// do { try await seeder.seed([.plans]) }
/// catch let error as SeedError {
///     for problem in error.problems { print(problem) }   // seeds/plans.json:14: …
/// }
/// ```
public struct SeedError: Error, Sendable, CustomStringConvertible {
    /// Every problem found; never empty.
    public var problems: [SeedProblem]

    public init(problems: [SeedProblem]) {
        precondition(!problems.isEmpty, "a SeedError names at least one problem")
        self.problems = problems
    }

    public init(file: String, line: Int?, message: String) {
        self.init(problems: [SeedProblem(file: file, line: line, message: message)])
    }

    /// The file of the first problem.
    public var file: String { problems[0].file }
    /// The line of the first problem.
    public var line: Int? { problems[0].line }

    public var description: String {
        let more = problems.count - 1
        guard more > 0 else { return problems[0].description }
        return "\(problems[0]) (and \(more) more problem\(more == 1 ? "" : "s"))"
    }
}
