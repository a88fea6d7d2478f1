/// A snapshot of a pool's connections, for metrics and diagnostics.
///
/// Read without stopping the pool: each count is exact at its own moment, and the
/// counts may be a lease apart from each other (a lease taken or given back while the
/// snapshot is read). A connection counts from the moment the pool makes room for it
/// (its thread starts; the connection itself opens at its first lease) until the pool
/// closes.
///
/// ```swift
/// let stats = database.statistics
/// if stats.waiting > 0 { logger.notice("pool exhausted", metadata: ["in_use": "\(stats.inUse)"]) }
/// ```
public struct PoolStatistics: Sendable, Hashable {
    /// Connections leased to a unit of work now.
    public var inUse: Int
    /// Connections the pool holds that no one leases now.
    public var idle: Int
    /// Tasks waiting for a connection because every one is leased.
    public var waiting: Int
    /// The most connections the pool opens (``Database/maxConnections``).
    public var maxConnections: Int

    public init(inUse: Int, idle: Int, waiting: Int, maxConnections: Int) {
        self.inUse = inUse
        self.idle = idle
        self.waiting = waiting
        self.maxConnections = maxConnections
    }
}
