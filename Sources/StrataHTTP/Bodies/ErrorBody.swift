/// The one error document of the API: `{"error_code", "message", "request_id"}`, plus
/// the integer facts of some codes (`balance`, `required`).
struct ErrorBody: Encodable {
    var error: APIError
    var requestID: String

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(error.code, forKey: Key("error_code"))
        try c.encode(error.message, forKey: Key("message"))
        try c.encode(requestID, forKey: Key("request_id"))
        for (name, value) in error.facts { try c.encode(value, forKey: Key(name)) }
    }
}
