internal import CMariaDB
import Foundation
import StrataSQL
import Synchronization

/// libmariadb's wait for its socket (`MARIADB_OPT_IO_WAIT`), done in slices so that a
/// statement notices when the task running it was cancelled.
///
/// A task on the pool's executor runs its statements in place, on the connection's
/// thread, and for such a lease the pool installs no cancellation handler (which costs
/// about a microsecond of Swift's runtime a lease, a fifth of a short select's client
/// CPU; see ``MySQLConnection/noticesTaskCancellation``). Instead, when a wait for the
/// server outlasts a slice (``sliceMilliseconds``), the wait checks whether the task on
/// the thread was cancelled and cancels the statement as a handler would
/// (``MySQLCanceller``): the statement then fails with 1317, `.canceled`. The same check
/// repeats a kill that a lease's handler sent while the connection was between
/// statements, where the server drops it; a kill goes out at most once a second. A
/// statement that answers within a slice costs one `poll`, as libmariadb's own wait
/// does. Work a task hands to the thread from elsewhere has no task on the thread, and
/// keeps its handler; so do connections over TLS, whose reads OpenSSL may do itself.
enum MySQLSocketWait {
    /// How long one `poll` waits before the task's cancellation is checked.
    static let sliceMilliseconds: Int32 = 50

    private struct Registration {
        let connection: ObjectIdentifier
        let canceller: MySQLCanceller
    }

    /// The canceller of each open connection, by its socket.
    private static let registrations = StrataMutex<[Int32: Registration]>([:])

    /// Installs the wait on `handle` and remembers how to cancel its statements.
    ///
    /// - Returns: the connection's socket, to pass to ``remove(socket:connection:)``.
    static func install(on handle: UnsafeMutablePointer<MYSQL>, connection: ObjectIdentifier, canceller: MySQLCanceller) -> Int32 {
        let socket = Int32(mysql_get_socket(handle))
        registrations.withLock { $0[socket] = Registration(connection: connection, canceller: canceller) }
        mysql_options(handle, MARIADB_OPT_IO_WAIT, unsafeBitCast(callback, to: UnsafeRawPointer.self))
        return socket
    }

    /// Forgets the connection when it closes; a newer connection that got the same
    /// socket number keeps its registration.
    static func remove(socket: Int32, connection: ObjectIdentifier) {
        registrations.withLock { r in
            if r[socket]?.connection == connection { r[socket] = nil }
        }
    }

    private static let callback: @convention(c) (my_socket, my_bool, Int32) -> Int32 = { socket, isRead, timeout in
        MySQLSocketWait.wait(socket: Int32(socket), forReading: isRead != 0, timeout: timeout)
    }

    /// Waits up to `timeout` milliseconds (negative: no limit) for the socket; returns
    /// `poll`'s result: above 0 ready, 0 timed out (errno `ETIMEDOUT`), -1 failed.
    static func wait(socket: Int32, forReading: Bool, timeout: Int32) -> Int32 {
        var descriptor = pollfd(fd: socket, events: Int16(forReading ? POLLIN : POLLOUT), revents: 0)
        var remaining = timeout
        var canceller: MySQLCanceller?
        while true {
            let slice = remaining < 0 ? sliceMilliseconds : min(sliceMilliseconds, remaining)
            let ready = poll(&descriptor, 1, slice)
            if ready > 0 { return ready }
            if ready < 0 {
                if errno == EINTR { continue }
                return ready
            }
            if remaining >= 0 {
                remaining -= slice
                if remaining <= 0 {
                    errno = ETIMEDOUT
                    return 0
                }
            }
            // Asked after each slice the server did not answer in: cancelled by the task
            // on this thread, or by a lease's handler whose kill may have been lost.
            if canceller == nil { canceller = registrations.withLock { $0[socket]?.canceller } }
            if let canceller, canceller.killIsDue(taskCancelled: Task.isCancelled, now: .now) {
                canceller.kill()
            }
        }
    }
}
