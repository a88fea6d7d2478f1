import Foundation
import Synchronization

/// One OS thread that runs submitted jobs in order: the home of one connection.
///
/// Blocking calls into libpq or libmariadb happen here, never on Swift's cooperative
/// thread pool, so a slow query cannot starve unrelated tasks. The thread also runs the
/// jobs of tasks that prefer the pool's executor (``ConnectionPool``), so such a task
/// can run its statements here without handing them over.
///
/// A task that is not on the thread hands each unit of work to it and waits: two thread
/// wake-ups a lease. After a job the thread first polls for the next one for a few
/// microseconds before it sleeps, so the usual next lease of the same task is picked up
/// without a wake-up. Only a few threads of the process poll at once (``maxPollers``),
/// so a busy pool on a small machine does not burn the cores the database server needs.
final class ConnectionThread: @unchecked Sendable {
    /// The pool the thread belongs to: ``ConnectionPool`` finds the slot of the thread a
    /// task runs on through this and ``slot``.
    let owner: ObjectIdentifier
    /// The slot that owns the thread (and outlives every lease made through it); set
    /// once, before the slot is shared.
    unowned(unsafe) var slot: ConnectionSlot?

    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var sleeping = false
    /// Jobs queued and not yet taken, readable without the lock while polling.
    private let queued = Atomic<Int>(0)
    /// Whether a job runs now.
    private let working = Atomic<Bool>(false)

    /// How long a thread polls for its next job after finishing one.
    static let pollNanoseconds: UInt64 = 50_000
    /// Threads polling at once, process-wide: a quarter of the cores, at least one.
    static let maxPollers = max(1, ProcessInfo.processInfo.activeProcessorCount / 4)
    private static let pollers = Atomic<Int>(0)

    init(owner: ObjectIdentifier, name: String) {
        self.owner = owner
        let thread = Thread { [self] in
            // The name `top -H` and `perf` show (Linux keeps 15 bytes of it); without it
            // the thread inherits the name of the thread that created it.
            #if os(Linux)
            if let comm = fopen("/proc/thread-self/comm", "w") {
                fputs(String(name.utf8.prefix(15))!, comm)
                fclose(comm)
            }
            #endif
            CurrentConnectionThread.set(self)
            self.runLoop()
            CurrentConnectionThread.set(nil)
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// The pthread key under which a connection thread finds itself. Read it once and
    /// keep it: each read of the lazy global goes through `swift_once`, which costs on a
    /// path taken several times a lease.
    static var key: pthread_key_t { CurrentConnectionThread.key }

    /// The connection thread the caller runs on, if it runs on one; `key` is ``key``.
    static func current(key: pthread_key_t) -> ConnectionThread? { CurrentConnectionThread.get(key) }

    private let key = ConnectionThread.key

    /// Whether the caller runs on this thread.
    var isCurrent: Bool { pthread_getspecific(key) == Unmanaged.passUnretained(self).toOpaque() }

    /// Whether the thread has nothing to do: no job running and none queued.
    var isIdle: Bool {
        !working.load(ordering: .relaxed) && queued.load(ordering: .relaxed) == 0
    }

    /// Jobs waiting for the thread.
    var backlog: Int { queued.load(ordering: .relaxed) }

    /// Queues a job; jobs run one at a time in submission order.
    ///
    /// - Returns: `false` when the thread is stopping and will not run it.
    @discardableResult
    func submit(_ job: @escaping () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if stopping { return false }
        jobs.append(job)
        queued.add(1, ordering: .releasing)
        if sleeping { condition.signal() }
        return true
    }

    /// Runs `body` on the thread and returns its result to the awaiting task.
    nonisolated(nonsending) func run<T>(_ body: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let box = UncheckedBox(continuation)
            let accepted = submit {
                do { box.value.resume(returning: try body()) } catch { box.value.resume(throwing: error) }
            }
            if !accepted {
                continuation.resume(throwing: DatabaseError(.poolClosed, message: "the database pool is closed"))
            }
        }
    }

    /// Lets the thread finish its queued jobs and exit; later submissions are refused.
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
            working.store(true, ordering: .relaxed)
            queued.subtract(1, ordering: .relaxed)
            condition.unlock()
            job()
            working.store(false, ordering: .relaxed)
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

/// The ``ConnectionThread`` of the calling OS thread, kept in a pthread key because
/// Swift has no thread-local storage of its own.
private enum CurrentConnectionThread {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    static func get(_ key: pthread_key_t) -> ConnectionThread? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<ConnectionThread>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Only the thread's own run loop sets it, and clears it before the object can go.
    static func set(_ thread: ConnectionThread?) {
        pthread_setspecific(key, thread.map { Unmanaged.passUnretained($0).toOpaque() })
    }
}

/// Carries a value the compiler cannot prove `Sendable` to the one thread that uses it.
struct UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
