import Foundation

/// An OS thread that can be waited for until it has exited, thread-local destructors
/// included.
///
/// Foundation's `Thread` is detached: a program that returns from `main` while such a
/// thread is still exiting runs its exit handlers (OpenSSL's, libk5crypto's) beside the
/// thread's own destructors for the same state, which libpq's connect left on it. The
/// benchmark joins its threads before it ends instead.
final class JoinableThread: @unchecked Sendable {
    private var thread: pthread_t
    private let body: @Sendable () -> Void

    /// Starts `body` on a new thread with a stack of `stackSize` bytes.
    init(stackSize: Int = 1 << 20, _ body: @escaping @Sendable () -> Void) {
        self.body = body
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        thread = pthread_t()
        // The thread holds the object (and its body) until the body has returned.
        let context = Unmanaged.passRetained(self).toOpaque()
        let status = pthread_create(&thread, &attributes, { context in
            let started = Unmanaged<JoinableThread>.fromOpaque(context!).takeRetainedValue()
            started.body()
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    /// Waits until the thread has exited. Call it once.
    func join() {
        let status = pthread_join(thread, nil)
        precondition(status == 0, "pthread_join failed: \(status)")
    }
}
