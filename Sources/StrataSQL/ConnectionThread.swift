import Foundation
import Synchronization

/// One OS thread that runs submitted jobs in order: the home of one connection.
///
/// Blocking calls into libpq or libmariadb happen here, never on Swift's cooperative
/// thread pool, so a slow query cannot starve unrelated tasks.
///
/// A task that runs one statement after another hands each to this thread and waits
/// for it: two thread wake-ups a statement. After a job the thread first polls for the
/// next one for a few microseconds before it sleeps, so the usual next statement of the
/// same task is picked up without a wake-up. Only a few threads of the process poll at
/// once (``maxPollers``), so a busy pool on a small machine does not burn the cores the
/// database server needs.
final class ConnectionThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var sleeping = false
    /// Jobs queued and not yet taken, readable without the lock while polling.
    private let queued = Atomic<Int>(0)

    /// How long a thread polls for its next job after finishing one.
    static let pollNanoseconds: UInt64 = 50_000
    /// Threads polling at once, process-wide: a quarter of the cores, at least one.
    static let maxPollers = max(1, ProcessInfo.processInfo.activeProcessorCount / 4)
    private static let pollers = Atomic<Int>(0)

    init(name: String) {
        let thread = Thread { [self] in self.runLoop() }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues a job; jobs run one at a time in submission order.
    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        queued.add(1, ordering: .releasing)
        if sleeping { condition.signal() }
        condition.unlock()
    }

    /// Runs `body` on the thread and returns its result to the awaiting task.
    func run<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let box = UncheckedBox(continuation)
            submit {
                do { box.value.resume(returning: try body()) } catch { box.value.resume(throwing: error) }
            }
        }
    }

    /// Lets the thread finish its queued jobs and exit.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while true {
            pollForNextJob()
            condition.lock()
            while jobs.isEmpty && !stopping {
                sleeping = true
                condition.wait()
                sleeping = false
            }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            queued.subtract(1, ordering: .relaxed)
            condition.unlock()
            job()
        }
    }

    /// Polls up to ``pollNanoseconds`` for a job, when fewer than ``maxPollers`` threads
    /// already do; returns at once when one is queued (or the thread is stopping).
    private func pollForNextJob() {
        guard queued.load(ordering: .acquiring) == 0 else { return }
        let (claimed, _) = Self.pollers.add(1, ordering: .relaxed)
        defer { Self.pollers.subtract(1, ordering: .relaxed) }
        guard claimed <= Self.maxPollers else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds + Self.pollNanoseconds
        var rounds = 0
        while queued.load(ordering: .acquiring) == 0 {
            rounds += 1
            if rounds % 16 == 0 {
                if DispatchTime.now().uptimeNanoseconds >= deadline { return }
                sched_yield()
            }
        }
    }
}

/// Carries a value the compiler cannot prove `Sendable` to the one thread that uses it.
struct UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
