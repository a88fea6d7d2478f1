import Foundation
import StrataBilling

/// One audit row of `GET /billing/admin/audit`, its details as the JSON object they are.
struct AuditEntryBody: Encodable {
    var id: Int64
    var occurredAt: String
    var actor: String
    var action: String
    var subjectType: String
    var subjectID: String
    var requestID: String?
    var details: JSONFragment

    init(_ e: AuditEntry) {
        id = e.id
        occurredAt = e.occurredAt.iso8601
        actor = e.actor
        action = e.action
        subjectType = e.subjectType
        subjectID = e.subjectID
        requestID = e.requestID
        details = (try? JSONDecoder().decode(JSONFragment.self, from: Data(e.details.utf8))) ?? .object([:])
    }

    enum CodingKeys: String, CodingKey {
        case id, actor, action, details
        case occurredAt = "occurred_at"
        case subjectType = "subject_type"
        case subjectID = "subject_id"
        case requestID = "request_id"
    }
}
