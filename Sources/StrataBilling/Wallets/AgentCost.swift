/// An agent and what one run of it costs, from `agent_costs`.
///
/// ```swift
/// let agents = try await AgentCatalogue(database: db).list()
/// agents.first { $0.key == "code_reviewer" }?.creditsPerRun   // 40
/// ```
public struct AgentCost: Sendable, Hashable {
    public var key: String
    public var displayName: String
    /// Credits one run costs now; a charge snapshots it.
    public var creditsPerRun: Int64
    /// Inactive agents stay listed but cannot be charged.
    public var active: Bool

    public init(key: String, displayName: String, creditsPerRun: Int64, active: Bool) {
        self.key = key
        self.displayName = displayName
        self.creditsPerRun = creditsPerRun
        self.active = active
    }
}
