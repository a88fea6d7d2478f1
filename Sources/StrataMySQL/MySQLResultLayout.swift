internal import CMariaDB
import Foundation
import StrataSQL

/// The columns of a prepared statement's result, with their names and fetch buffers.
///
/// A repeated query returns the same columns, so the statement keeps its layout and
/// only checks, at each execution, that the server's metadata still matches (it changes
/// when a table is altered under a cached statement).
final class MySQLResultLayout {
    let columns: [MySQLColumn]
    let index: ColumnIndex
    let buffers: MySQLResultBuffers
    private let signatures: [Signature]

    private struct Signature: Equatable {
        var type: UInt32
        var flags: UInt32
        var charset: UInt32
        var length: UInt

        init(_ f: MYSQL_FIELD) {
            type = f.type.rawValue
            flags = f.flags
            charset = f.charsetnr
            length = f.length
        }
    }

    init(_ fields: UnsafeMutablePointer<MYSQL_FIELD>, count: Int) {
        columns = (0..<count).map { MySQLColumn(fields + $0) }
        index = ColumnIndex(columns.map(\.name))
        buffers = MySQLResultBuffers(columns: columns)
        signatures = (0..<count).map { Signature(fields[$0]) }
    }

    /// Whether the server's metadata for this execution describes the same columns.
    func matches(_ fields: UnsafeMutablePointer<MYSQL_FIELD>, count: Int) -> Bool {
        guard count == columns.count else { return false }
        for i in 0..<count {
            let f = fields[i]
            guard Signature(f) == signatures[i] else { return false }
            guard Self.same(columns[i].name, f.name, length: Int(f.name_length)) else { return false }
        }
        return true
    }

    private static func same(_ name: String, _ bytes: UnsafeMutablePointer<CChar>?, length: Int) -> Bool {
        var name = name
        return name.withUTF8 { utf8 in
            guard utf8.count == (bytes == nil ? 0 : length) else { return false }
            guard let base = utf8.baseAddress, let bytes else { return true }
            return memcmp(base, bytes, length) == 0
        }
    }
}
