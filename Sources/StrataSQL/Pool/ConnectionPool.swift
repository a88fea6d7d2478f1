import Foundation
import Logging
import Synchronization

/// Hands out at most `limit` connections, and runs the jobs of tasks that prefer it on
/// their threads.
///
/// Each slot carries its own lease flag, so a lease of a free slot and a release with
/// no one waiting take no lock and no actor hop; the pool's lock is taken to find a
/// slot, to add one, and to queue or wake a waiting task. A task waits only when every
/// connection is leased.
///
/// As a `TaskExecutor` the pool runs a task between its statements on one of the
/// connection threads, and keeps it on the thread it last ran a statement on. A lease
/// from there takes that thread's own connection when it is free, so the statement runs
/// in place: no hand-over to another thread and back, the cost that otherwise dominates
/// a short statement. Jobs that arrive from outside go to an idle thread, or a new one
/// while the pool is below its limit, or else to the global executor.
final class ConnectionPool: TaskExecutor, Sendable {
    private let url: DatabaseURL
    private let driver: any DatabaseDriver
    private let limit: Int
    private let logger: Logger
    private let state = StrataMutex(State())
    /// Waiters queued in `state`, readable without the lock by a release.
    private let waiterCount = Atomic<Int>(0)
    private let closed = Atomic<Bool>(false)
    /// The slot released last: a lease from outside the pool's threads looks there
    /// first, since its thread may still be polling for work.
    private let lastReleased = Atomic<Int>(0)
    private let threadKey = ConnectionThread.key

    private struct State {
        var slots: [ConnectionSlot] = []
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        /// The shutdown the first `close()` started, which later calls wait for too.
        var closing: Task<Void, Never>?
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<ConnectionSlot, Error>
    }

    init(url: DatabaseURL, driver: any DatabaseDriver, limit: Int, logger: Logger) {
        self.url = url
        self.driver = driver
        self.limit = limit
        self.logger = logger
    }

    deinit {
        // A pool dropped without `close()` still ends its threads and connections.
        let slots = state.withLock { $0.slots }
        for slot in slots { slot.closeSoon() }
    }

    private static var closedError: DatabaseError {
        DatabaseError(.poolClosed, message: "the database pool is closed")
    }

    // MARK: Leasing

    /// A connection slot for the caller alone until ``release(_:)``.
    nonisolated(nonsending) func lease() async throws -> ConnectionSlot {
        if closed.load(ordering: .acquiring) { throw Self.closedError }
        if let own = ownSlot() {
            if own.thread.backlog > 0 {
                await makeWay(from: own.thread)
            } else if own.tryAcquire() {
                return own
            }
        }
        let first: (slot: ConnectionSlot?, waiterID: Int) = state.withLock { s in
            if let slot = findFreeSlot(&s) { return (slot, 0) }
            s.nextWaiterID += 1
            return (nil, s.nextWaiterID)
        }
        if let slot = first.slot { return slot }
        let waiterID = first.waiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ConnectionSlot, Error>) in
                let outcome: Result<ConnectionSlot, Error>? = state.withLock { s in
                    if closed.load(ordering: .acquiring) { return .failure(Self.closedError) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    // Counted before the last look, so a release that frees a slot after
                    // it sees the waiter and hands the slot over.
                    waiterCount.add(1, ordering: .sequentiallyConsistent)
                    if let slot = findFreeSlot(&s) {
                        waiterCount.subtract(1, ordering: .sequentiallyConsistent)
                        return .success(slot)
                    }
                    s.waiters.append(Waiter(id: waiterID, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { s in
                guard let i = s.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                waiterCount.subtract(1, ordering: .sequentiallyConsistent)
                return s.waiters.remove(at: i)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back, and hands it to the first waiter if there is one.
    func release(_ slot: ConnectionSlot) {
        slot.markFree()
        // A hint for leases from outside the pool's threads; a task releasing in place
        // keeps its thread busy, and writing the shared hint each time would cost more.
        if !slot.thread.isCurrent { lastReleased.store(slot.index, ordering: .relaxed) }
        guard waiterCount.load(ordering: .sequentiallyConsistent) > 0 else { return }
        let waiter: Waiter? = state.withLock { s in
            // Someone may have taken the slot since; then their release hands it over.
            guard !s.waiters.isEmpty, slot.tryAcquire() else { return nil }
            waiterCount.subtract(1, ordering: .sequentiallyConsistent)
            return s.waiters.removeFirst()
        }
        waiter?.continuation.resume(returning: slot)
    }

    /// Moves the calling task off `thread`, where other work waits behind it: to an idle
    /// thread whose slot is free, or else to the back of `thread`'s own queue.
    ///
    /// A task on the pool's executor that finds its thread's connection free runs its
    /// statements in place and never suspends; without this, a second task that landed
    /// on the same thread would wait for the first one to finish all its work. Making
    /// way once a lease keeps that fair, and spreads tasks over idle threads.
    nonisolated(nonsending) private func makeWay(from thread: ConnectionThread) async {
        let target = state.withLock { s in
            s.slots.first { $0.thread !== thread && !$0.isLeased && $0.thread.isIdle }?.thread
        } ?? thread
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // Resumed there, the task is queued on that thread (see `threadForJob`).
            if !target.submit({ continuation.resume() }) { continuation.resume() }
        }
    }

    /// Takes the caller's own thread's slot when it is free, else the one released last,
    /// else any free one, else a new one below the limit.
    private func findFreeSlot(_ s: inout State) -> ConnectionSlot? {
        if let own = ownSlot(), own.tryAcquire() { return own }
        let count = s.slots.count
        if count > 0 {
            let start = min(lastReleased.load(ordering: .relaxed), count - 1)
            for offset in 0..<count {
                let slot = s.slots[(start + offset) % count]
                if slot.tryAcquire() { return slot }
            }
        }
        // Checked under the lock, so no slot is added after `close` took the list.
        guard count < limit, !closed.load(ordering: .acquiring) else { return nil }
        let slot = addSlot(&s)
        _ = slot.tryAcquire()
        return slot
    }

    /// A new slot, free, with its thread started (its connection opens at its first lease).
    private func addSlot(_ s: inout State) -> ConnectionSlot {
        let slot = ConnectionSlot(index: s.slots.count, owner: ObjectIdentifier(self), url: url, driver: driver, logger: logger)
        s.slots.append(slot)
        return slot
    }

    /// The slot whose thread the caller runs on, if it is one of ours.
    private func ownSlot() -> ConnectionSlot? {
        guard let thread = ConnectionThread.current(key: threadKey), thread.owner == ObjectIdentifier(self) else { return nil }
        return thread.slot
    }

    // MARK: Statistics

    /// How many slots are leased and free, and how many tasks wait; a slot that
    /// `close()` shut counts no more.
    func statistics() -> PoolStatistics {
        let slots = state.withLock { s in closed.load(ordering: .acquiring) ? [] : s.slots }
        let inUse = slots.count { $0.isLeased }
        return PoolStatistics(inUse: inUse, idle: slots.count - inUse,
                              waiting: waiterCount.load(ordering: .sequentiallyConsistent), maxConnections: limit)
    }

    // MARK: Closing

    /// Fails the waiters, refuses new leases, closes every connection on its thread
    /// (a lease that runs now finishes first), and returns once every thread has exited.
    ///
    /// The work runs in a task of its own on the global executor: the caller may be a
    /// task that runs on one of the pool's threads, which cannot wait for its own
    /// thread's end, and a second `close()` waits for the same shutdown.
    func close() async {
        let closing = state.withLock { s in
            if let closing = s.closing { return closing }
            let closing = Task(executorPreference: globalConcurrentExecutor) { await self.shutDown() }
            s.closing = closing
            return closing
        }
        await closing.value
    }

    private func shutDown() async {
        let (slots, waiters) = state.withLock { s -> ([ConnectionSlot], [Waiter]) in
            closed.store(true, ordering: .releasing)
            waiterCount.store(0, ordering: .sequentiallyConsistent)
            defer { s.waiters.removeAll() }
            return (s.slots, s.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.closedError) }
        for slot in slots { await slot.close() }
    }

    // MARK: TaskExecutor

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        if let thread = threadForJob(), thread.submit({ unowned.runSynchronously(on: executor) }) {
            return
        }
        // Every thread is busy (or the pool is closed): rather than wait behind another
        // task's statement, the task goes on on the global executor. A lease it waits for
        // resumes it on the thread of the connection it gets.
        globalConcurrentExecutor.enqueue(ExecutorJob(unowned))
    }

    /// The caller's own thread when it is one of ours, else an idle thread (one whose
    /// connection is free first), or a new one below the limit; `nil` when every thread
    /// is busy or the pool is closed.
    private func threadForJob() -> ConnectionThread? {
        if closed.load(ordering: .acquiring) { return nil }
        if let own = ownSlot() { return own.thread }
        return state.withLock { s in
            let idle = s.slots.filter { $0.thread.isIdle }
            if let free = idle.first(where: { !$0.isLeased }) ?? idle.first { return free.thread }
            if s.slots.count < limit, !closed.load(ordering: .acquiring) { return addSlot(&s).thread }
            return nil
        }
    }
}
