internal import CMariaDB
import StrataSQL

/// libmariadb's process-wide setup, done once.
enum MySQLLibrary {
    /// `mysql_library_init` is a C macro Swift cannot see; `mysql_server_init` is the
    /// function behind it. A static `let` runs its initializer exactly once, thread-safely.
    private static let initialized: Bool = mysql_server_init(0, nil, nil) == 0

    static func ensureInitialized() throws {
        guard initialized else {
            throw DatabaseError(.other, message: "libmariadb could not be initialized (mysql_server_init failed)")
        }
    }
}
