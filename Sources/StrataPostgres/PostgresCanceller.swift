internal import CLibPQ
import StrataSQL

/// Cancels the running statement with `PQcancel`, which libpq documents as thread-safe.
final class PostgresCanceller: SQLCanceller, @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }
    deinit { PQfreeCancel(handle) }

    func cancel() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(handle, &buffer, Int32(buffer.count))
    }
}
