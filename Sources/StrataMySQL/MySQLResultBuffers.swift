internal import CMariaDB
import StrataSQL

/// The `MYSQL_BIND` array that receives one result's rows, with its buffers.
///
/// Fixed-size values (integers, floats, times) land in buffers of their size; text and
/// bytes in a buffer of at most 1 KiB, and a longer value is fetched a second time with
/// `mysql_stmt_fetch_column` into a buffer of its real length. Kept with its statement
/// and reused while the result's columns stay the same.
final class MySQLResultBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let errors: UnsafeMutablePointer<my_bool>
    private let buffers: [UnsafeMutableRawPointer]
    private let columns: [MySQLColumn]

    init(columns: [MySQLColumn]) {
        let n = max(columns.count, 1)
        self.columns = columns
        binds = .allocate(capacity: n)
        binds.initialize(repeating: MYSQL_BIND(), count: n)
        lengths = .allocate(capacity: n)
        lengths.initialize(repeating: 0, count: n)
        nulls = .allocate(capacity: n)
        nulls.initialize(repeating: 0, count: n)
        errors = .allocate(capacity: n)
        errors.initialize(repeating: 0, count: n)
        var buffers: [UnsafeMutableRawPointer] = []
        buffers.reserveCapacity(columns.count)
        for (i, column) in columns.enumerated() {
            let (type, size, alignment) = Self.layout(column)
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: alignment)
            buffers.append(buffer)
            binds[i].buffer_type = type
            binds[i].buffer = buffer
            binds[i].buffer_length = UInt(size)
            binds[i].length = lengths + i
            binds[i].is_null = nulls + i
            binds[i].error = errors + i
            if case .integer(let unsigned) = column.kind { binds[i].is_unsigned = unsigned ? 1 : 0 }
        }
        self.buffers = buffers
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        binds.deallocate()
        lengths.deallocate()
        nulls.deallocate()
        errors.deallocate()
    }

    private static func layout(_ column: MySQLColumn) -> (enum_field_types, Int, Int) {
        switch column.kind {
        case .integer: (MYSQL_TYPE_LONGLONG, 8, 8)
        case .float: (MYSQL_TYPE_FLOAT, 4, 4)
        case .double: (MYSQL_TYPE_DOUBLE, 8, 8)
        case .temporal: (MYSQL_TYPE_DATETIME, MemoryLayout<MYSQL_TIME>.size, MemoryLayout<MYSQL_TIME>.alignment)
        case .time: (MYSQL_TYPE_TIME, MemoryLayout<MYSQL_TIME>.size, MemoryLayout<MYSQL_TIME>.alignment)
        case .binary, .bit: (MYSQL_TYPE_BLOB, Self.initialCapacity(column), 1)
        case .decimal, .json, .text, .null: (MYSQL_TYPE_STRING, Self.initialCapacity(column), 1)
        }
    }

    /// Room for the declared width, between 64 bytes and 1 KiB.
    private static func initialCapacity(_ column: MySQLColumn) -> Int {
        Int(min(max(column.declaredLength, 64), 1024))
    }

    /// The values of the row just fetched.
    ///
    /// - Throws: a libmariadb failure of the second fetch of a long value, as (errno, message).
    func row(of statement: UnsafeMutablePointer<MYSQL_STMT>) throws(MySQLClientFailure) -> [SQLValue] {
        var values: [SQLValue] = []
        values.reserveCapacity(columns.count)
        for (i, column) in columns.enumerated() {
            values.append(try value(at: i, column: column, statement: statement))
        }
        return values
    }

    private func value(at i: Int, column: MySQLColumn, statement: UnsafeMutablePointer<MYSQL_STMT>) throws(MySQLClientFailure) -> SQLValue {
        if nulls[i] != 0 { return .null }
        let buffer = buffers[i]
        switch column.kind {
        case .integer(let unsigned):
            if unsigned {
                let u = buffer.load(as: UInt64.self)
                return u <= UInt64(Int64.max) ? .int(Int64(u)) : .decimal(String(u))
            }
            return .int(buffer.load(as: Int64.self))
        case .float:
            // Through its shortest text, so FLOAT 1.1 reads as 1.1 as in the text protocol.
            let f = buffer.load(as: Float.self)
            return .double(Double(String(f)) ?? Double(f))
        case .double:
            return .double(buffer.load(as: Double.self))
        case .temporal:
            let time = buffer.load(as: MYSQL_TIME.self)
            return MySQLTime.timestamp(time).map(SQLValue.timestamp) ?? .string(MySQLTime.text(time, type: column.type))
        case .time:
            return .string(MySQLTime.text(buffer.load(as: MYSQL_TIME.self), type: column.type))
        case .null:
            return .null
        case .decimal, .json, .text, .binary, .bit:
            let length = Int(lengths[i])
            if length <= Int(binds[i].buffer_length) {
                return Self.decodeVariable(UnsafeRawBufferPointer(start: buffer, count: length), column: column)
            }
            // Second pass: the value did not fit, fetch it whole.
            let large = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 1)
            defer { large.deallocate() }
            var bind = MYSQL_BIND()
            bind.buffer_type = binds[i].buffer_type
            bind.buffer = large
            bind.buffer_length = UInt(length)
            var fetched: UInt = 0
            let rc = withUnsafeMutablePointer(to: &fetched) { fetchedPointer in
                bind.length = fetchedPointer
                return mysql_stmt_fetch_column(statement, &bind, UInt32(i), 0)
            }
            if rc != 0 {
                throw MySQLClientFailure(errno: mysql_stmt_errno(statement), message: String(cString: mysql_stmt_error(statement)))
            }
            return Self.decodeVariable(UnsafeRawBufferPointer(start: large, count: min(Int(fetched), length)), column: column)
        }
    }

    private static func decodeVariable(_ bytes: UnsafeRawBufferPointer, column: MySQLColumn) -> SQLValue {
        switch column.kind {
        case .binary: .bytes(Array(bytes))
        case .bit: column.bitValue(bytes)
        case .decimal: .decimal(String(decoding: bytes, as: UTF8.self))
        case .json: .json(String(decoding: bytes, as: UTF8.self))
        default: .string(String(decoding: bytes, as: UTF8.self))
        }
    }
}
