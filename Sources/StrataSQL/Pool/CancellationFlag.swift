import Synchronization

/// Tells work running on a connection's thread whether the task that handed it over was
/// cancelled.
///
/// A closure passed to ``Database/withConnection(_:)`` runs on the connection's own thread,
/// which runs no task, so `Task.isCancelled` cannot answer there. Cancelling the task
/// cancels the statement running at that moment; long work of many statements (a
/// migration, a seed load) also asks this flag between statements, so that it stops
/// before the next one instead of running to its end.
///
/// ```swift
/// try await CancellationFlag.tracking { cancelled in
///     try await db.withConnection { conn in
///         for statement in statements {
///             if cancelled.isSet { throw CancellationError() }
///             try conn.executeUnprepared(statement)
///         }
///     }
/// }
/// ```
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Whether the task was cancelled.
    public var isSet: Bool { flag.load(ordering: .relaxed) }

    public func set() { flag.store(true, ordering: .relaxed) }

    /// Runs `body` with a flag that the calling task's cancellation sets.
    public static func tracking<T>(_ body: (CancellationFlag) async throws -> T) async rethrows -> T {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await body(flag)
        } onCancel: {
            flag.set()
        }
    }
}
