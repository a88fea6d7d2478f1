import StrataSQL

/// Where each migration stands, files and history side by side.
public struct MigrationStatus: Sendable {
    public enum State: String, Sendable, Codable {
        case applied, baseline, pending
        /// Applied, but the file changed since.
        case changed
        /// In the history, but no file has its version.
        case missing
        case failed
        /// A run was interrupted half-way (process killed).
        case interrupted
        /// A run died while a statement that commits by itself was running: whether it
        /// completed is unknown until a person checks (`repair --completed` / `--not-completed`).
        case uncertain
    }

    public struct Entry: Sendable {
        public var version: MigrationVersion
        public var name: String
        public var state: State
        public var record: HistoryRecord?
        public var detail: String?
        /// `0003_plans`, spelled as the file spells its version.
        public var label: String
    }

    public var entries: [Entry]

    public var pending: [Entry] { entries.filter { $0.state == .pending } }
    /// Entries that need a person: changed, missing, failed or interrupted.
    public var problems: [Entry] { entries.filter { [.changed, .missing, .failed, .interrupted, .uncertain].contains($0.state) } }
    public var current: MigrationVersion? {
        entries.last { $0.state == .applied || $0.state == .baseline || $0.state == .changed }?.version
    }

    init(migrations: MigrationSet, history: [HistoryRecord], displayPath: (MigrationFile) -> String) {
        var byVersion: [MigrationVersion: HistoryRecord] = [:]
        for r in history { byVersion[r.version] = r }
        var result: [Entry] = []
        for m in migrations.migrations {
            guard let r = byVersion.removeValue(forKey: m.version) else {
                result.append(Entry(version: m.version, name: m.name, state: .pending, record: nil, detail: nil, label: m.label))
                continue
            }
            switch r.state {
            case .failed, .running:
                let state: State = r.uncertainStatement != nil ? .uncertain : r.state == .failed ? .failed : .interrupted
                result.append(Entry(version: m.version, name: m.name, state: state,
                                    record: r, detail: r.stateSummary, label: m.label))
            case .applied, .baseline:
                if r.state == .applied && r.checksum != m.up.checksum.hex {
                    result.append(Entry(version: m.version, name: m.name, state: .changed, record: r,
                                        detail: "\(displayPath(m.up.file)) changed since it was applied (checksum \(r.checksum.prefix(12))… recorded, \(m.up.checksum.hex.prefix(12))… on disk)",
                                        label: m.label))
                } else {
                    result.append(Entry(version: m.version, name: m.name, state: r.state == .baseline ? .baseline : .applied,
                                        record: r, detail: nil, label: m.label))
                }
            }
        }
        for r in byVersion.values {
            result.append(Entry(version: r.version, name: r.name, state: .missing, record: r,
                                detail: "applied on \(r.appliedAt) but no file has version \(r.version)",
                                label: "\(r.version)_\(r.name)"))
        }
        entries = result.sorted { $0.version < $1.version }
    }
}
