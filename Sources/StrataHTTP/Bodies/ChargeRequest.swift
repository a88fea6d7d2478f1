/// `POST /billing/charges`: `{"agent": "code_reviewer", "run_id": "run-42"}`.
struct ChargeRequest: StrictJSONRequest {
    var agent: String
    var runID: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case agent
        case runID = "run_id"
    }

    init?(plainStrings object: PlainStringObject) {
        guard object.members.count == 2, let agent = object["agent"], let runID = object["run_id"] else { return nil }
        self.agent = agent
        self.runID = runID
    }
}
