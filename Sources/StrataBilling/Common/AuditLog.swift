import Foundation
import StrataSQL

/// One row of `billing_audit`.
public struct AuditEntry: Sendable, Hashable {
    public var id: Int64
    public var occurredAt: SQLTimestamp
    public var actor: String
    public var action: String
    public var subjectType: String
    public var subjectID: String
    public var requestID: String?
    /// The details as a JSON object's text.
    public var details: String
}

/// A `billing_audit` row, read with `row.decode(AuditEntry.self)`.
extension AuditEntry: Decodable {
    enum CodingKeys: String, CodingKey {
        case id, actor, action, details
        case occurredAt = "occurred_at", subjectType = "subject_type", subjectID = "subject_id", requestID = "request_id"
    }
}

/// The append-only billing audit log.
///
/// Services call ``record(_:context:action:subjectType:subjectID:details:at:)`` on the
/// connection of their own transaction, so an operation and its audit row commit or roll
/// back together: a rolled-back operation leaves no audit row.
///
/// ```swift
/// try AuditLog.record(conn, context: ctx, action: "wallet.charge", subjectType: "wallet",
///                     subjectID: "\(walletID)", details: ["amount": -120], at: clock.now())
/// ```
public enum AuditLog {
    /// Writes one audit row in the caller's transaction.
    ///
    /// The insert is deferred (``SQLConnection/executeDeferred(_:)``): where the driver
    /// can, it goes out with the transaction's `COMMIT`, and a failed insert fails the
    /// commit.
    public static func record(_ conn: any SQLConnection, context: BillingContext, action: String,
                              subjectType: String, subjectID: String, details: [String: any Sendable] = [:],
                              at time: SQLTimestamp) throws {
        let json = try SQLJSON(jsonObject: details)
        try conn.executeDeferred("""
            INSERT INTO billing_audit (occurred_at, actor, action, subject_type, subject_id, request_id, details)
            VALUES (\(time), \(context.actor), \(action), \(subjectType), \(subjectID), \(context.requestID), \(json))
            """)
    }

    /// Audit rows, newest first, filtered by subject and time range.
    public static func query(_ database: Database, subjectType: String? = nil, subjectID: String? = nil,
                             since: SQLTimestamp? = nil, until: SQLTimestamp? = nil, limit: Int = 100) async throws -> [AuditEntry] {
        try await database.withReplicaConnection { conn in
            var q: SQLQuery = "SELECT id, occurred_at, actor, action, subject_type, subject_id, request_id, details FROM billing_audit WHERE 1 = 1"
            if let subjectType { q.append(" AND subject_type = \(subjectType)") }
            if let subjectID { q.append(" AND subject_id = \(subjectID)") }
            if let since { q.append(" AND occurred_at >= \(since)") }
            if let until { q.append(" AND occurred_at < \(until)") }
            q.append(" ORDER BY occurred_at DESC, id DESC LIMIT \(Int64(limit))")
            return try conn.query(q).map { try $0.decode(AuditEntry.self) }
        }
    }
}

extension SQLJSON {
    /// Encodes a dictionary of JSON-compatible values (strings, numbers, bools, arrays,
    /// dictionaries, NSNull) with its keys sorted.
    ///
    /// A flat dictionary of strings, integers and bools (every audit row a charge writes)
    /// is written here directly: `JSONSerialization` cost more than all of a charge's SQL.
    /// Anything else goes through `JSONSerialization`.
    public init(jsonObject: [String: any Sendable]) throws {
        var members: [String: JSONValue] = [:]
        for (key, value) in jsonObject {
            switch value {
            case let v as Bool: members[key] = .bool(v)
            case let v as String: members[key] = .string(v)
            case let v as Int: members[key] = .integer(Int64(v))
            case let v as Int64: members[key] = .integer(v)
            default:
                let data = try JSONSerialization.data(withJSONObject: jsonObject, options: [.sortedKeys])
                self.init(String(decoding: data, as: UTF8.self))
                return
            }
        }
        // The seeds' canonical writer: sorted keys, no spaces, escaped like JSONSerialization.
        self.init(JSONValue.object(members).canonicalText)
    }
}
