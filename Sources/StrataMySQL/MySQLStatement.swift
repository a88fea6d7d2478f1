internal import CMariaDB
import StrataSQL

/// One server-side prepared statement, owned by one connection's cache.
final class MySQLStatement {
    let handle: UnsafeMutablePointer<MYSQL_STMT>
    let sql: String
    let parameterCount: Int
    var lastUsed: UInt64 = 0
    /// The columns and fetch buffers of the last result, reused while they still fit.
    var resultLayout: MySQLResultLayout?
    private var closed = false
    /// A copy of the parameter binds `mysql_stmt_bind_param` took last, or `nil`.
    private var bound: UnsafeMutablePointer<MYSQL_BIND>?
    private var boundCount = 0
    private var boundCapacity = 0

    init(handle: UnsafeMutablePointer<MYSQL_STMT>, sql: String) {
        self.handle = handle
        self.sql = sql
        self.parameterCount = Int(mysql_stmt_param_count(handle))
    }

    /// Binds `binds` (`count` of them) unless the statement holds the same binds
    /// already: same types, lengths and buffers, only the values in the buffers changed.
    ///
    /// libmariadb reads the values at execution, so a statement run again with values
    /// of the same shape skips `mysql_stmt_bind_param`, and the execution does not
    /// send the parameter types to the server again.
    ///
    /// - Returns: `false` when `mysql_stmt_bind_param` failed (the error is on the handle).
    func bindParameters(_ binds: UnsafeMutablePointer<MYSQL_BIND>, count: Int) -> Bool {
        if let bound, boundCount == count, (0..<count).allSatisfy({ Self.same(bound[$0], binds[$0]) }) {
            return true
        }
        boundCount = 0
        guard mysql_stmt_bind_param(handle, binds) == 0 else { return false }
        if let old = bound, count > boundCapacity { old.deallocate(); bound = nil }
        if bound == nil {
            boundCapacity = max(count, 1)
            bound = .allocate(capacity: boundCapacity)
        }
        bound!.update(from: binds, count: count)
        boundCount = count
        return true
    }

    /// The fields of a parameter bind that `bindParameters` and libmariadb look at.
    private static func same(_ a: MYSQL_BIND, _ b: MYSQL_BIND) -> Bool {
        a.buffer_type == b.buffer_type && a.buffer == b.buffer && a.buffer_length == b.buffer_length
            && a.length == b.length && a.is_null == b.is_null && a.is_unsigned == b.is_unsigned
    }

    /// Frees the statement on the server and the client. Safe to call twice.
    func close() {
        guard !closed else { return }
        closed = true
        mysql_stmt_close(handle)
    }

    deinit {
        close()
        bound?.deallocate()
    }
}
