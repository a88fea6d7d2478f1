internal import CMariaDB
import Logging
import StrataSQL

/// Cancels the statement a MySQL connection is running, from any thread.
///
/// MySQL has no cancel request on the connection itself: this opens a short side
/// connection with the same credentials, sends `KILL QUERY <thread id>` and closes it.
/// The running statement then fails with 1317, a ``DatabaseError`` `.canceled`, and its
/// connection stays usable.
struct MySQLCanceller: SQLCanceller {
    let endpoint: MySQLEndpoint
    let threadID: UInt
    let logger: Logger

    func cancel() {
        do {
            // No default database: the kill must work even if that database is gone.
            let side = try endpoint.open(database: nil, timeout: min(endpoint.connectTimeout, 5))
            defer { mysql_close(side) }
            let sql = "KILL QUERY \(threadID)"
            if mysql_real_query(side, sql, UInt(sql.utf8.count)) != 0 {
                let message = String(cString: mysql_error(side))
                logger.warning("could not cancel the running statement", metadata: ["error": "\(message)", "thread-id": "\(threadID)"])
            }
        } catch {
            logger.warning("could not cancel the running statement", metadata: ["error": "\(error)", "thread-id": "\(threadID)"])
        }
    }
}
