/// `POST /billing/reconcile`: `{"since": "2026-01-01T00:00:00Z", "until": "2026-02-01T00:00:00Z"}`,
/// both optional (RFC 3339; `since` defaults to the beginning, `until` to now).
struct ReconcileRequest: StrictJSONRequest {
    var since: String?
    var until: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case since, until
    }
}
