/// An error number and message read from libmariadb, before it becomes a ``DatabaseError``.
struct MySQLClientFailure: Error {
    var errno: UInt32
    var message: String
}
