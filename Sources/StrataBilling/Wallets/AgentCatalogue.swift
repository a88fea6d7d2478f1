import StrataSQL

/// The agents that can be charged for, with their current cost per run.
///
/// The catalogue is loaded by `strata seed agent-costs`; agents are deactivated, never
/// deleted, so the list holds active and inactive ones.
///
/// ```swift
/// let catalogue = AgentCatalogue(database: db)
/// for agent in try await catalogue.list() where agent.active {
///     print(agent.key, agent.creditsPerRun)
/// }
/// ```
public struct AgentCatalogue: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    /// Every agent, active and inactive, by key.
    ///
    /// - Parameter includeInactive: `false` leaves deactivated agents out.
    /// - Throws: ``DatabaseError``.
    public func list(includeInactive: Bool = true) async throws -> [AgentCost] {
        try await database.withReplicaConnection { conn in
            var q: SQLQuery = "SELECT agent_key, display_name, credits_per_run, active FROM agent_costs"
            if !includeInactive { q.append(" WHERE active = \(true)") }
            q.append(" ORDER BY agent_key")
            return try conn.query(q).map(Self.agent(from:))
        }
    }

    /// One agent by key, or `nil`.
    ///
    /// - Throws: ``DatabaseError``.
    public func agent(_ key: String) async throws -> AgentCost? {
        try await database.withConnection { conn in
            try Self.find(conn, key: key)
        }
    }

    /// One agent by key on the caller's connection, or `nil`.
    static func find(_ conn: any SQLConnection, key: String) throws -> AgentCost? {
        try conn.queryFirst("""
            SELECT agent_key, display_name, credits_per_run, active FROM agent_costs WHERE agent_key = \(key)
            """).map(agent(from:))
    }

    private static func agent(from row: Row) throws -> AgentCost {
        AgentCost(key: try row.decode("agent_key"), displayName: try row.decode("display_name"),
                  creditsPerRun: try row.decode("credits_per_run"), active: try row.decode("active"))
    }
}
