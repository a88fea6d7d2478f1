import StrataSQL

/// What a migration command is asked to do.
public enum MigrationRequest: Sendable, Hashable {
    /// Apply pending migrations: all, up to and including a version, or a number of them.
    case up(to: MigrationVersion? = nil, steps: Int? = nil)
    /// Revert applied migrations.
    case down(DownTarget)
    /// Revert the latest applied migration and apply it again.
    case redo
    /// Move to exactly a version: up or down, whichever it takes.
    case goto(MigrationVersion)
}

/// How far `down` goes.
public enum DownTarget: Sendable, Hashable {
    /// The latest N applied migrations.
    case steps(Int)
    /// Every applied migration above a version (the version itself stays).
    case to(MigrationVersion)
    case all
}

/// One migration to run in one direction, possibly resuming an interrupted run.
public struct MigrationStep: Sendable {
    public let migration: Migration
    public let direction: MigrationDirection
    public let script: MigrationScript
    /// Statements an earlier, interrupted run already applied: execution starts after them.
    public let resumeAt: Int

    public var statements: [SQLStatement] { script.statements }
    /// `0003_plans`: the version as the file spells it, and the name.
    public var label: String { migration.label }
}

/// Turns a request, the files and the history into the ordered steps to run.
///
/// Pure: reads nothing and changes nothing, so `plan` and `--dry-run` show exactly what
/// `up` or `down` would do.
struct MigrationPlanner {
    let migrations: MigrationSet
    let history: [HistoryRecord]
    let allowOutOfOrder: Bool
    /// How files are named in messages (the folder the user gave, then the file).
    let displayPath: @Sendable (MigrationFile) -> String

    func plan(_ request: MigrationRequest) throws -> [MigrationStep] {
        switch request {
        case .up(let to, let steps):
            return try planUp(to: to, steps: steps)
        case .down(let target):
            return try planDown(target)
        case .redo:
            let down = try planDown(.steps(1))
            guard let last = down.last else { throw MigrationError.refused("nothing to redo: no migration is applied") }
            return down + [step(last.migration, .up, resumeAt: 0)]
        case .goto(let version):
            guard migrations[version] != nil || history.contains(where: { $0.version == version }) else {
                throw MigrationError.refused("no migration with version \(version)")
            }
            let current = applied.last?.version
            if let current, version < current { return try planDown(.to(version)) }
            return try planUp(to: version, steps: nil)
        }
    }

    /// The records of ups that failed before any statement landed, which a `down`
    /// running `steps` forgets: those above every migration the down leaves applied
    /// (and above a `--to` target).
    ///
    /// Left in the history, such a record would make the next `up` run that migration
    /// first, before the ones the down reverted below it; without it, the migration is
    /// simply pending again, as it is in the schema.
    func forgottenByDown(_ request: MigrationRequest, steps: [MigrationStep]) -> [HistoryRecord] {
        let floor: MigrationVersion?
        switch request {
        case .down(.to(let version)), .goto(let version): floor = version
        case .down: floor = nil
        case .up, .redo: return []
        }
        guard steps.allSatisfy({ $0.direction == .down }) else { return [] }
        if case .goto = request, steps.isEmpty { return [] }
        let reverted = Set(steps.map(\.migration.version))
        let stillApplied = applied.map(\.version).filter { !reverted.contains($0) }.max()
        return history.filter { record in
            record.changedNothing
                && stillApplied.map { record.version > $0 } ?? true
                && floor.map { record.version > $0 } ?? true
        }
    }

    private var byVersion: [MigrationVersion: HistoryRecord] {
        Dictionary(history.map { ($0.version, $0) }, uniquingKeysWith: { a, _ in a })
    }

    private var applied: [HistoryRecord] { history.filter(\.isApplied) }

    private func step(_ m: Migration, _ d: MigrationDirection, resumeAt: Int) -> MigrationStep {
        MigrationStep(migration: m, direction: d, script: m.script(d)!, resumeAt: resumeAt)
    }

    private func planUp(to target: MigrationVersion?, steps: Int?) throws -> [MigrationStep] {
        if let target, migrations[target] == nil {
            throw MigrationError.refused("no migration with version \(target)")
        }
        let records = byVersion
        var result: [MigrationStep] = []
        try refuseUncertain()
        // An interrupted up comes first: the schema is half-way through it.
        for record in history where record.isIncomplete {
            if record.direction == .down {
                throw MigrationError.refused("migration \(record.version)_\(record.name) stopped half-way through its down (\(record.stateSummary)); run `strata migrate down` to finish reverting it, or `strata migrate repair \(record.version)` after fixing it by hand")
            }
            guard let m = migrations[record.version] else {
                throw MigrationError.drift("migration \(record.version)_\(record.name) is partly applied (\(record.stateSummary)) but its file is gone")
            }
            result.append(step(m, .up, resumeAt: record.statementsApplied))
        }
        let highestApplied = applied.last?.version
        for m in migrations.migrations where records[m.version] == nil {
            if let target, m.version > target { break }
            if let highestApplied, m.version < highestApplied, !allowOutOfOrder {
                throw MigrationError.refused("\(displayPath(m.up.file)): version \(m.version) is older than the latest applied migration \(highestApplied); give it a newer version, or pass --out-of-order")
            }
            result.append(step(m, .up, resumeAt: 0))
        }
        if let steps { result = Array(result.prefix(max(0, steps))) }
        return result
    }

    /// A statement that may or may not have completed stops every plan until a person
    /// says which.
    private func refuseUncertain() throws {
        for record in history where record.isIncomplete {
            guard let uncertain = record.uncertainStatement else { continue }
            let script = migrations[record.version]?.script(record.direction)
            throw MigrationError.uncertain(MigrationExecutor.uncertainMessage(
                path: script.map { displayPath($0.file) } ?? "migration \(record.version)_\(record.name)",
                version: record.version, uncertain: uncertain, statements: script?.statements ?? []))
        }
    }

    private func planDown(_ target: DownTarget) throws -> [MigrationStep] {
        try refuseUncertain()
        var result: [MigrationStep] = []
        var candidates: [HistoryRecord] = []
        for record in history where record.isIncomplete {
            // An up that failed at its first statement applied nothing: nothing to undo.
            if record.changedNothing { continue }
            if record.direction == .up {
                throw MigrationError.refused("migration \(record.version)_\(record.name) is partly applied (\(record.stateSummary)); fix its file and run `strata migrate up` to finish it, or `strata migrate repair \(record.version)` after fixing it by hand, before reverting")
            }
            candidates.append(record)
        }
        candidates += applied.reversed()
        switch target {
        case .steps(let n):
            guard n > 0 else { throw MigrationError.refused("--steps must be at least 1") }
            candidates = Array(candidates.prefix(n))
        case .to(let version):
            guard migrations[version] != nil || byVersion[version] != nil else {
                throw MigrationError.refused("no migration with version \(version)")
            }
            candidates = candidates.filter { $0.version > version }
        case .all:
            break
        }
        for record in candidates {
            guard let m = migrations[record.version] else {
                throw MigrationError.drift("migration \(record.version)_\(record.name) is applied but its files are gone: cannot revert it")
            }
            guard m.down != nil else {
                throw MigrationError.refused("\(displayPath(m.up.file)): migration \(m.version) is irreversible (-- strata:irreversible); down stops before it")
            }
            let resume = record.isIncomplete ? record.statementsApplied : 0
            result.append(step(m, .down, resumeAt: resume))
        }
        return result
    }
}

extension HistoryRecord {
    /// `failed at statement 3 of 5: …` / `interrupted after statement 2 of 5`.
    var stateSummary: String {
        switch state {
        case .applied, .baseline: return state.rawValue
        case .failed where uncertainStatement != nil:
            return "\(direction == .down ? "down " : "")failed: the connection was lost during statement \(uncertainStatement!.number) of \(statementsTotal) (line \(uncertainStatement!.line)), which commits by itself: it may or may not have completed; after checking, run `strata migrate repair \(version) --completed` or `--not-completed`"
        case .failed:
            return "\(direction == .down ? "down " : "")failed at statement \(failedStatement ?? statementsApplied + 1) of \(statementsTotal)" + (error.map { ": \($0)" } ?? "")
        case .running:
            if let uncertain = uncertainStatement {
                return "\(direction == .down ? "down " : "")interrupted during statement \(uncertain.number) of \(statementsTotal) (line \(uncertain.line)), which commits by itself: it may or may not have completed; after checking, run `strata migrate repair \(version) --completed` or `--not-completed`"
            }
            return "\(direction == .down ? "down " : "")interrupted after statement \(statementsApplied) of \(statementsTotal)" + (error.map { " (\($0))" } ?? "")
        }
    }
}

extension Migration {
    /// `0003_plans`: the version as the file spells it, and the name.
    public var label: String { "\(up.file.versionSpelling)_\(name)" }
}
