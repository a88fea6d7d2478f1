internal import CMariaDB
import StrataSQL

/// The `MYSQL_BIND` array of a statement's parameters, with the memory it points into.
///
/// Lives until `mysql_stmt_execute` has returned; frees everything when it goes away.
struct MySQLParameters: ~Copyable {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let lengths: UnsafeMutablePointer<UInt>
    private var buffers: [UnsafeMutableRawPointer] = []
    private let count: Int

    /// - Throws: ``DatabaseError`` for a value MySQL cannot hold (a timestamp outside 0…9999).
    init(_ values: [SQLValue]) throws {
        // Everything that can fail happens before the first allocation.
        let hasTimes = values.contains { if case .timestamp = $0 { true } else { false } }
        let times = try hasTimes ? values.map { value -> MYSQL_TIME? in
            if case .timestamp(let t) = value { return try MySQLTime.mysqlTime(t) }
            return nil
        } : []
        count = values.count
        binds = .allocate(capacity: max(count, 1))
        binds.initialize(repeating: MYSQL_BIND(), count: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        lengths.initialize(repeating: 0, count: max(count, 1))
        buffers.reserveCapacity(count)
        for (i, value) in values.enumerated() {
            bind(value, time: hasTimes ? times[i] : nil, at: i)
        }
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        binds.deallocate()
        lengths.deallocate()
    }

    private mutating func bind(_ value: SQLValue, time: MYSQL_TIME?, at i: Int) {
        switch value {
        case .null:
            binds[i].buffer_type = MYSQL_TYPE_NULL
        case .bool(let b):
            store(b ? Int8(1) : Int8(0), type: MYSQL_TYPE_TINY, at: i)
        case .int(let v):
            store(v, type: MYSQL_TYPE_LONGLONG, at: i)
        case .double(let d):
            store(d, type: MYSQL_TYPE_DOUBLE, at: i)
        case .decimal(let s):
            storeBytes(s.utf8, type: MYSQL_TYPE_NEWDECIMAL, at: i)
        case .string(let s), .json(let s):
            storeBytes(s.utf8, type: MYSQL_TYPE_STRING, at: i)
        case .bytes(let b):
            storeBytes(b, type: MYSQL_TYPE_BLOB, at: i)
        case .timestamp:
            store(time ?? MYSQL_TIME(), type: MYSQL_TYPE_DATETIME, at: i)
        }
    }

    private mutating func store<T>(_ value: T, type: enum_field_types, at i: Int) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<T>.size, alignment: MemoryLayout<T>.alignment)
        buffer.initializeMemory(as: T.self, repeating: value, count: 1)
        buffers.append(buffer)
        binds[i].buffer_type = type
        binds[i].buffer = buffer
        binds[i].buffer_length = UInt(MemoryLayout<T>.size)
    }

    private mutating func storeBytes<C: Collection>(_ bytes: C, type: enum_field_types, at i: Int) where C.Element == UInt8 {
        let count = bytes.count
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 1)
        let copied = bytes.withContiguousStorageIfAvailable { source -> Bool in
            if let base = source.baseAddress { buffer.copyMemory(from: base, byteCount: count) }
            return true
        }
        if copied == nil {
            _ = UnsafeMutableRawBufferPointer(start: buffer, count: count).initializeMemory(as: UInt8.self, from: bytes)
        }
        buffers.append(buffer)
        lengths[i] = UInt(count)
        binds[i].buffer_type = type
        binds[i].buffer = buffer
        binds[i].buffer_length = UInt(count)
        binds[i].length = lengths + i
    }
}
