import StrataSQL

/// One object of a seed file's top-level JSON array, with the lines of it and its fields.
public struct JSONRecord: Sendable, Equatable {
    /// A field of the object, with the line of its name.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var line: Int
        public var value: JSONValue

        public init(name: String, line: Int, value: JSONValue) {
            self.name = name
            self.line = line
            self.value = value
        }
    }

    /// The 1-based line of the object's opening brace.
    public var line: Int
    /// The fields in the order they are written.
    public var fields: [Field]

    public init(line: Int, fields: [Field]) {
        self.line = line
        self.fields = fields
    }
}
