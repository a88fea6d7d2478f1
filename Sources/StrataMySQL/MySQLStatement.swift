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

    init(handle: UnsafeMutablePointer<MYSQL_STMT>, sql: String) {
        self.handle = handle
        self.sql = sql
        self.parameterCount = Int(mysql_stmt_param_count(handle))
    }

    /// Frees the statement on the server and the client. Safe to call twice.
    func close() {
        guard !closed else { return }
        closed = true
        mysql_stmt_close(handle)
    }

    deinit { close() }
}
