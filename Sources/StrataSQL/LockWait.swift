import Foundation

/// How a wait for a session-level named lock ended (``SQLConnection/waitForLock(name:scope:timeout:onWait:isCancelled:)``).
public enum LockWait: Sendable, Equatable {
    case acquired
    /// Another session still held it when the timeout passed.
    case timedOut
    /// The caller's run was cancelled while it waited.
    case cancelled
}

/// How long a named lock lasts (``SQLConnection/tryLock(name:scope:)``).
public enum LockScope: Sendable {
    /// Until released or the session ends.
    case session
    /// Until the transaction it was taken in ends (``SQLDialect/tryTransactionLockQuery(name:)``).
    case transaction
}

extension SQLConnection {
    /// Waits up to `timeout` for a session-level named lock (PostgreSQL advisory lock,
    /// MySQL `GET_LOCK`), or with `scope` `.transaction` one that lasts as long as the
    /// open transaction, trying again with a pause that grows from 20 ms to 250 ms.
    ///
    /// The server releases such a lock when the session ends, so a killed holder never
    /// leaves it behind. The pause keeps a long wait cheap; the connection's own thread
    /// sleeps, with no other work queued on it. Callers turn the outcome into their own
    /// error, which names what waited (a migration run, a seed run).
    ///
    /// - Parameters:
    ///   - onWait: called once, when the first try finds the lock taken.
    ///   - isCancelled: asked after each try; `true` stops the wait at once.
    /// - Throws: ``DatabaseError`` from a try.
    public func waitForLock(name: String, scope: LockScope = .session, timeout: Duration, onWait: () -> Void,
                            isCancelled: () -> Bool) throws -> LockWait {
        let deadline = ContinuousClock.now + timeout
        var waited = false
        var pause = Duration.milliseconds(20)
        while true {
            if try tryLock(name: name, scope: scope) { return .acquired }
            if isCancelled() { return .cancelled }
            if ContinuousClock.now >= deadline { return .timedOut }
            if !waited {
                waited = true
                onWait()
            }
            Thread.sleep(forTimeInterval: pause.seconds)
            pause = min(pause * 2, .milliseconds(250))
        }
    }
}
