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
/// so a busy pool on a small machine does not burn the cores the database server needs,
/// and a thread whose polls keep finding nothing mostly stops polling.
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
    /// Polls in a row that found nothing, after which a thread mostly stops polling.
    static let maxMisses = 4
    /// How often a thread that stopped polling tries again.
    static let retryEvery = 16
    /// Polls of this thread in a row that found no job (up to ``maxMisses``); touched by
    /// the thread alone.
    private var missedPolls = 0
    /// Polls skipped since the thread stopped polling; touched by the thread alone.
    private var skippedPolls = 0
    private static let pollers = Atomic<Int>(0)

    /// The OS thread, joined by ``join()`` (or detached by ``detach()``); set in `init`.
    private var pthread: pthread_t?
    /// Whether the thread was joined or detached: either may happen once.
    private let reaped = Atomic<Bool>(false)

    init(owner: ObjectIdentifier, name: String) {
        self.owner = owner
        // A pthread of our own rather than a Foundation `Thread`, which is detached: the
        // pool's `close` joins it, so that when `close` returns the thread has exited,
        // its thread-local destructors included (libpq's GSSAPI and OpenSSL state). A
        // process that exits while such a destructor runs frees the same memory twice.
        let start = ThreadStart { [self] in
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
        pthread = start.launch(stackSize: 1 << 20)
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

    /// Runs `body` as the thread's last job, after the jobs queued before it, and
    /// returns when it has run; the thread then exits. Later submissions are refused.
    ///
    /// - Returns: `false` when the thread was already stopping and did not run `body`.
    func runLast(_ body: @escaping () -> Void) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            condition.lock()
            guard !stopping else {
                condition.unlock()
                continuation.resume(returning: false)
                return
            }
            jobs.append { body(); continuation.resume(returning: true) }
            queued.add(1, ordering: .releasing)
            stopping = true
            condition.signal()
            condition.unlock()
        }
    }

    /// Waits until the thread has exited, its thread-local destructors included.
    ///
    /// Blocks the caller: call it once the thread has run its last job (``runLast(_:)``),
    /// when what is left is the thread's exit. Only the first of `join` and ``detach()``
    /// does anything; the thread itself must not call it.
    func join() {
        guard !reaped.exchange(true, ordering: .acquiringAndReleasing), let pthread else { return }
        let status = pthread_join(pthread, nil)
        precondition(status == 0, "pthread_join failed: \(status)")
    }

    /// Lets the thread exit without anyone joining it (its resources are then freed
    /// when it ends), for a pool dropped without `close`.
    func detach() {
        guard !reaped.exchange(true, ordering: .acquiringAndReleasing), let pthread else { return }
        pthread_detach(pthread)
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
    /// already do and polling has paid off on this thread lately; returns at once when
    /// one is queued (or the thread is stopping).
    ///
    /// Polling pays when the next job follows within microseconds: a task on another
    /// executor running statement after statement. It does not when jobs come from far
    /// away, like the requests `strata serve` gets from its event loops: each miss spins
    /// and yields the core (a context switch) for nothing. So after ``maxMisses`` misses
    /// in a row a thread polls only every ``retryEvery``th time, and a hit brings it back.
    private func pollForNextJob() {
        guard queued.load(ordering: .acquiring) == 0 else { return }
        if missedPolls >= Self.maxMisses {
            skippedPolls &+= 1
            guard skippedPolls % Self.retryEvery == 0 else { return }
        }
        let (claimed, _) = Self.pollers.add(1, ordering: .relaxed)
        defer { Self.pollers.subtract(1, ordering: .relaxed) }
        guard claimed <= Self.maxPollers else { return }
        if poll() {
            missedPolls = 0
        } else {
            missedPolls = min(missedPolls + 1, Self.maxMisses)
        }
    }

    /// Spins until a job is queued (`true`) or ``pollNanoseconds`` pass (`false`).
    private func poll() -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + Self.pollNanoseconds
        var rounds = 0
        while queued.load(ordering: .acquiring) == 0 {
            rounds += 1
            if rounds % 16 == 0 {
                if DispatchTime.now().uptimeNanoseconds >= deadline { return false }
                sched_yield()
            }
        }
        return true
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

/// The body of a pthread, handed to its start routine.
private final class ThreadStart {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }

    /// Starts a joinable thread running `body`.
    func launch(stackSize: Int) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t?
        #else
        var thread = pthread_t()
        #endif
        let status = pthread_create(&thread, &attributes, { context in
            Unmanaged<ThreadStart>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        precondition(status == 0, "cannot start a connection thread: pthread_create failed with \(status)")
        #if canImport(Darwin)
        return thread!
        #else
        return thread
        #endif
    }
}

/// Carries a value the compiler cannot prove `Sendable` to the one thread that uses it.
struct UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
