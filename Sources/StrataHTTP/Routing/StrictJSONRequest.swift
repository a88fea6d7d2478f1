/// A JSON request body whose members are exactly its coding keys: an unknown member is
/// a `400`, not silently ignored, so a misspelt optional field never goes unnoticed.
protocol StrictJSONRequest: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
}

