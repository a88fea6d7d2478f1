import Foundation
import Logging
import Synchronization

/// Hands out at most `limit` connections, and runs the jobs of tasks that prefer it on
/// their threads.
///
/// Leasing and releasing take a lock, not an actor hop; a task waits only when every
/// connection is leased, and waiters are served first come, first served.
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
    private let state = Mutex(State())

    private struct State {
        var slots: [ConnectionSlot] = []
        /// Indexes of free slots, the most recently released last.
        var free: [Int] = []
        var leased: [Bool] = []
        var closed = false
        var waiters: [Waiter] = []
        var nextWaiterID = 0
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<ConnectionSlot, Error>
    }

    private enum Attempt {
        case leased(ConnectionSlot)
        case wait(id: Int)
        case closed
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
    func lease() async throws -> ConnectionSlot {
        if let thread = ConnectionThread.current, thread.owner == ObjectIdentifier(self), thread.backlog > 0 {
            await makeWay(from: thread)
        }
        let waiterID: Int
        switch state.withLock({ tryLease(&$0) }) {
        case .leased(let slot): return slot
        case .closed: throw Self.closedError
        case .wait(let id): waiterID = id
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ConnectionSlot, Error>) in
                let outcome: Result<ConnectionSlot, Error>? = state.withLock { s in
                    // A slot may have come free since the first look.
                    switch tryLease(&s) {
                    case .leased(let slot): return .success(slot)
                    case .closed: return .failure(Self.closedError)
                    case .wait:
                        if Task.isCancelled { return .failure(CancellationError()) }
                        s.waiters.append(Waiter(id: waiterID, continuation: continuation))
                        return nil
                    }
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { s in
                guard let i = s.waiters.firstIndex(where: { $0.id == waiterID }) else { return nil }
                return s.waiters.remove(at: i)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the calling task off `thread`, where other work waits behind it: to an idle
    /// thread whose slot is free, or else to the back of `thread`'s own queue.
    ///
    /// A task on the pool's executor that finds its thread's connection free runs its
    /// statements in place and never suspends; without this, a second task that landed
    /// on the same thread would wait for the first one to finish all its work. Making
    /// way once a lease keeps that fair, and spreads tasks over idle threads.
    private func makeWay(from thread: ConnectionThread) async {
        let target = state.withLock { s in
            s.slots.first { $0.thread !== thread && !s.leased[$0.index] && $0.thread.isIdle }?.thread
        } ?? thread
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            // Resumed there, the task is queued on that thread (see `threadForJob`).
            if !target.submit({ continuation.resume() }) { continuation.resume() }
        }
    }

    /// Takes the caller's own thread's slot when it is free, else the most recently
    /// released one, else a new one below the limit.
    private func tryLease(_ s: inout State) -> Attempt {
        if s.closed { return .closed }
        if let own = ownSlotIndex(s), !s.leased[own], let i = s.free.lastIndex(of: own) {
            s.free.remove(at: i)
            s.leased[own] = true
            return .leased(s.slots[own])
        }
        if let index = s.free.popLast() {
            s.leased[index] = true
            return .leased(s.slots[index])
        }
        if s.slots.count < limit {
            let slot = addSlot(&s)
            s.free.removeLast()
            s.leased[slot.index] = true
            return .leased(slot)
        }
        s.nextWaiterID += 1
        return .wait(id: s.nextWaiterID)
    }

    /// Gives a slot back: to the first waiter, or to the free list.
    func release(_ slot: ConnectionSlot) {
        let waiter: Waiter? = state.withLock { s in
            if !s.closed, !s.waiters.isEmpty { return s.waiters.removeFirst() }
            s.leased[slot.index] = false
            s.free.append(slot.index)
            return nil
        }
        waiter?.continuation.resume(returning: slot)
    }

    /// A new slot, free, with its thread started (its connection opens at its first lease).
    private func addSlot(_ s: inout State) -> ConnectionSlot {
        let slot = ConnectionSlot(index: s.slots.count, owner: ObjectIdentifier(self), url: url, driver: driver, logger: logger)
        s.slots.append(slot)
        s.leased.append(false)
        s.free.append(slot.index)
        return slot
    }

    /// The index of the slot whose thread the caller runs on, if it is one of ours.
    private func ownSlotIndex(_ s: State) -> Int? {
        guard let thread = ConnectionThread.current, thread.owner == ObjectIdentifier(self),
              thread.slotIndex < s.slots.count else { return nil }
        return thread.slotIndex
    }

    // MARK: Closing

    /// Fails the waiters, refuses new leases, closes every connection on its thread
    /// (a lease that runs now finishes first) and ends the threads.
    func close() async {
        let (slots, waiters) = state.withLock { s -> ([ConnectionSlot], [Waiter]) in
            s.closed = true
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
        state.withLock { s in
            if s.closed { return nil }
            if let own = ownSlotIndex(s) { return s.slots[own].thread }
            let idle = s.slots.filter { $0.thread.isIdle }
            if let free = idle.first(where: { !s.leased[$0.index] }) ?? idle.first { return free.thread }
            if s.slots.count < limit { return addSlot(&s).thread }
            return nil
        }
    }
}
