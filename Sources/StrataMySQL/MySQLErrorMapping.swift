import StrataSQL

/// Server and client error numbers, sorted into ``DatabaseError`` categories.
enum MySQLErrorMapping {
    static func category(errno: UInt32) -> DatabaseError.Category {
        switch errno {
        case 1062, 1586, 1022: .uniqueViolation
        case 1451, 1452, 1216, 1217: .foreignKeyViolation
        case 3819, 4025: .checkViolation           // MySQL 8 / MariaDB (ER_CONSTRAINT_FAILED)
        case 1048, 1364, 1263: .notNullViolation
        case 1213: .deadlock                       // also a Galera certification conflict at COMMIT
        case 1020: .serializationFailure           // "record has changed since last read" (snapshot isolation)
        case 1205, 3572: .lockTimeout              // lock wait timeout, NOWAIT
        case 1064, 1149: .syntax
        case 1146, 1051: .undefinedTable
        case 1054: .undefinedColumn
        case 1050, 1060, 1061: .duplicateObject    // table, column, index name exists
        case 1317, 1927: .canceled                 // KILL QUERY / KILL
        case 3024, 1969: .timeout                  // max_execution_time / max_statement_time
        case 1045, 1044, 1698: .authentication
        case 1049: .unknownDatabase
        // 1047 from a Galera node outside a primary component (joining, leaving on
        // shutdown, cut off): "WSREP has not yet prepared node for application use". The
        // statement did not run, nor will the transaction commit; another node can take it.
        case 2002, 2003, 1047: .connectionRefused
        case 2006, 2013, 2055, 1053, 4031: .connectionLost
        default: .other
        }
    }

    /// Whether the connection cannot be trusted after this error.
    static func breaksConnection(errno: UInt32) -> Bool {
        switch errno {
        case 2006, 2013, 2055, 1053, 4031, 1927: true  // gone, lost, shutdown, idle-killed, killed
        case 2014: true                                 // commands out of sync: state unknown
        case 2026: true                                 // TLS failure
        default: false
        }
    }
}
