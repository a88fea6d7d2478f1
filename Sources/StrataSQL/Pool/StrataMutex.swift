import Foundation
import Synchronization

#if STRATA_TSAN
/// The lock of the pool's shared state: under ThreadSanitizer, one TSan can see.
///
/// `Synchronization.Mutex` takes its lock inside the Swift runtime, which is not built
/// with ThreadSanitizer: TSan sees neither the lock nor the unlock, and reports every
/// access to the state it guards as a race (two threads appending to a `Mutex<[Int]>`
/// show it). `scripts/test --sanitize thread` builds with `-DSTRATA_TSAN`, so the pool
/// guards the same state with a `pthread_mutex_t`, whose calls TSan intercepts; what it
/// then reports is about Strata's accesses, not about the lock.
package typealias StrataMutex<Value> = PThreadMutex<Value>

/// A value behind a `pthread_mutex_t`, with `Mutex`'s `withLock`.
package final class PThreadMutex<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
#else
/// The lock of the pool's shared state: the standard library's `Mutex`. (Under
/// ThreadSanitizer, a lock TSan can see: see `scripts/test --sanitize thread`.)
package typealias StrataMutex<Value> = Mutex<Value>
#endif
