/// A list under one named member (`{"agent_costs": [...]}`), so a list can grow
/// members (a count, a cursor) without breaking its clients.
struct ListBody<Item: Encodable>: Encodable {
    var name: String
    var items: [Item]

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(items, forKey: Key(name))
    }
}
