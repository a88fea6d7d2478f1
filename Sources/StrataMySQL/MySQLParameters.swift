internal import CMariaDB
import StrataSQL

/// The `MYSQL_BIND` array of a statement's parameters, with the memory it points into.
///
/// One per connection, reused by every statement it runs: fixed-size values (integers,
/// doubles, times) go into a slot per parameter, text and bytes one after another into
/// a shared byte buffer. Both grow when a statement needs more and are kept, so a
/// repeated statement allocates nothing; the byte buffer is let go again after a
/// statement that needed more than ``keptByteCapacity``.
///
/// What ``bind(_:)`` fills stays valid until the next call to it, or ``trim()``, which
/// covers `mysql_stmt_bind_param` and `mysql_stmt_execute`.
final class MySQLParameters {
    /// Room for one fixed-size value: a `MYSQL_TIME`, the largest of them, rounded up to 8 bytes.
    private static let slotSize = (MemoryLayout<MYSQL_TIME>.size + 7) & ~7
    /// Byte buffer kept between statements; a larger one is freed after use.
    static let keptByteCapacity = 64 * 1024
    /// Parameters kept room for between statements; more are freed after use.
    static let keptCapacity = 256

    private(set) var binds: UnsafeMutablePointer<MYSQL_BIND>
    private var lengths: UnsafeMutablePointer<UInt>
    private var slots: UnsafeMutableRawPointer
    private var capacity: Int
    private var bytes: UnsafeMutableRawPointer
    private var byteCapacity: Int

    init(capacity: Int = 8, byteCapacity: Int = 1024) {
        self.capacity = max(capacity, 1)
        self.byteCapacity = max(byteCapacity, 1)
        binds = .allocate(capacity: self.capacity)
        lengths = .allocate(capacity: self.capacity)
        slots = .allocate(byteCount: self.capacity * Self.slotSize, alignment: 8)
        bytes = .allocate(byteCount: self.byteCapacity, alignment: 8)
    }

    deinit {
        binds.deallocate()
        lengths.deallocate()
        slots.deallocate()
        bytes.deallocate()
    }

    /// Fills ``binds`` with the `count` binds of `query`.
    ///
    /// - Throws: ``DatabaseError`` for a value MySQL cannot hold (a timestamp outside
    ///   0…9999), before anything is bound.
    func bind(_ query: SQLQuery, count: Int) throws {
        reserve(count: count)
        // First pass: fixed-size values into their slots (a timestamp may throw here)
        // and the room the variable-length ones need.
        var byteCount = 0
        try query.forEachBind { i, value in
            let slot = slots + i * Self.slotSize
            switch value {
            case .null: break
            case .bool(let b): slot.storeBytes(of: b ? 1 : 0, as: Int8.self)
            case .int(let v): slot.storeBytes(of: v, as: Int64.self)
            case .double(let d): slot.storeBytes(of: d, as: Double.self)
            case .timestamp(let t): slot.storeBytes(of: try MySQLTime.mysqlTime(t), as: MYSQL_TIME.self)
            case .decimal(let s), .string(let s), .json(let s): byteCount += s.utf8.count
            case .bytes(let b): byteCount += b.count
            }
        }
        reserve(bytes: byteCount)
        // Second pass: the binds, with the variable-length values copied in.
        binds.initialize(repeating: MYSQL_BIND(), count: count)
        var offset = 0
        query.forEachBind { i, value in
            let slot = slots + i * Self.slotSize
            switch value {
            case .null: binds[i].buffer_type = MYSQL_TYPE_NULL
            case .bool: point(i, at: slot, size: 1, type: MYSQL_TYPE_TINY)
            case .int: point(i, at: slot, size: 8, type: MYSQL_TYPE_LONGLONG)
            case .double: point(i, at: slot, size: 8, type: MYSQL_TYPE_DOUBLE)
            case .timestamp: point(i, at: slot, size: MemoryLayout<MYSQL_TIME>.size, type: MYSQL_TYPE_DATETIME)
            case .decimal(let s): copy(s.utf8, into: i, offset: &offset, type: MYSQL_TYPE_NEWDECIMAL)
            case .string(let s), .json(let s): copy(s.utf8, into: i, offset: &offset, type: MYSQL_TYPE_STRING)
            case .bytes(let b): copy(b, into: i, offset: &offset, type: MYSQL_TYPE_BLOB)
            }
        }
    }

    /// Lets go of buffers that one statement made unusually large.
    func trim() {
        if byteCapacity > Self.keptByteCapacity {
            bytes.deallocate()
            byteCapacity = 1024
            bytes = .allocate(byteCount: byteCapacity, alignment: 8)
        }
        if capacity > Self.keptCapacity {
            reallocate(capacity: 8)
        }
    }

    private func point(_ i: Int, at slot: UnsafeMutableRawPointer, size: Int, type: enum_field_types) {
        binds[i].buffer_type = type
        binds[i].buffer = slot
        binds[i].buffer_length = UInt(size)
    }

    private func copy<C: Collection>(_ source: C, into i: Int, offset: inout Int, type: enum_field_types) where C.Element == UInt8 {
        let start = bytes + offset
        let count = source.count
        let copied = source.withContiguousStorageIfAvailable { buffer -> Bool in
            if let base = buffer.baseAddress { start.copyMemory(from: base, byteCount: count) }
            return true
        }
        if copied == nil {
            _ = UnsafeMutableRawBufferPointer(start: start, count: count).initializeMemory(as: UInt8.self, from: source)
        }
        offset += count
        lengths[i] = UInt(count)
        binds[i].buffer_type = type
        binds[i].buffer = start
        binds[i].buffer_length = UInt(count)
        binds[i].length = lengths + i
    }

    private func reserve(count: Int) {
        guard count > capacity else { return }
        reallocate(capacity: max(count, capacity * 2))
    }

    /// Replaces the per-parameter arrays with ones for `newCapacity` parameters.
    private func reallocate(capacity newCapacity: Int) {
        binds.deallocate()
        lengths.deallocate()
        slots.deallocate()
        capacity = newCapacity
        binds = .allocate(capacity: newCapacity)
        lengths = .allocate(capacity: newCapacity)
        slots = .allocate(byteCount: newCapacity * Self.slotSize, alignment: 8)
    }

    private func reserve(bytes needed: Int) {
        guard needed > byteCapacity else { return }
        bytes.deallocate()
        byteCapacity = max(needed, byteCapacity * 2)
        bytes = .allocate(byteCount: byteCapacity, alignment: 8)
    }
}
