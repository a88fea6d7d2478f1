/// `POST /billing/charges`: `{"agent": "code_reviewer", "run_id": "run-42"}`.
struct ChargeRequest: StrictJSONRequest {
    var agent: String
    var runID: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case agent
        case runID = "run_id"
    }
}
