import StrataMigrations
import Testing

/// SplitMix64: a small seeded generator, so every run builds the same cases.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random statements from fragments that hide `;`, quotes and comment markers
/// from a naive splitter. Every statement starts and ends with a word, so its text is
/// exactly what the splitter must give back.
private struct StatementGenerator {
    let dialect: SQLSplitDialect
    var random: SplitMix64

    private static let common = [
        "'a;b'", "'it''s; ok'", "';'", "'/* -- $$ # ;'", "'😀;é'", "''",
        "-- line; it's \"odd\n", "/* block; it's \"odd */", "/**/",
        "=", ",", "+", "*", "(a, b)", "()", "1.5", "42", "@v", ":=",
    ]
    private static let postgres = [
        #"E'it\'s; ok'"#, #"E'a\';b'"#, #"e'\\'"#, #"E'a''b;\';'"#, #""id;""x""#, #""$$;""#,
        "$$ BEGIN x := 1; END $$", "$fn$ a; $$ ; $fn$", "$_t1$;$_t1$", "$é$;'$é$",
        "/* a; /* nested; */ b; */", "/* /* /* deep; */ */ */", "-- $$ unclosed; /*\n",
        "(1; 2)", "(a; (b; c))", "$1", "$23", "a$b", "x::int", "#", "1--c;\n",
    ]
    private static let mysql = [
        #"'it\'s; ok'"#, #"'a\\'"#, #""say \"hi\"; ok""#, #""a\";b""#, #""a""b;""#, "`a;``b`", "`--;`",
        "/* a /* b; */", "# hash; it's\n", "-- dash; /*\n", "1--1", "/*!50001 x; 'y */",
        "/*M!100100 z; */", "$a", "a$", "#;\n", "--\n",
    ]
    private static let leads = ["SELECT", "UPDATE", "INSERT", "DELETE", "WITH", "CALL", "ALTER"]

    mutating func statement() -> String {
        var parts = [Self.leads.randomElement(using: &random)!]
        for _ in 0..<Int.random(in: 0...8, using: &random) { parts.append(fragment()) }
        parts.append(word())
        var text = parts[0]
        for part in parts.dropFirst() { text += ["  ", " ", "\n", "\r\n", "\t"].randomElement(using: &random)! + part }
        return text
    }

    private mutating func fragment() -> String {
        if Int.random(in: 0..<4, using: &random) == 0 { return word() }
        let specific = dialect == .postgres ? Self.postgres : Self.mysql
        return (Self.common + specific).randomElement(using: &random)!
    }

    private mutating func word() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz_0123456789")
        let first = letters[Int.random(in: 0..<27, using: &random)]
        let word = String(first) + String((0..<Int.random(in: 0...7, using: &random)).map { _ in
            letters.randomElement(using: &random)!
        })
        // Words that shape a MySQL stored program's body would make a different script.
        return Self.keywords.contains(word) ? word + "_" : word
    }

    private static let keywords: Set<String> = [
        "begin", "end", "if", "case", "loop", "repeat", "while", "for", "do", "then", "else", "row", "until",
        "handler", "atomic", "not", "procedure", "function", "trigger", "event", "definer",
    ]

    /// Noise between statements that must not become a statement.
    mutating func noise(delimiter: String) -> String {
        let comment = dialect == .mysql ? "# between; it's\n" : "/* between; /* it's */ */\n"
        return ["", "", "\n", "-- between; it's\n", comment, "\(delimiter)\n"].randomElement(using: &random)!
    }
}

private func lineOf(offset: Int, in script: String) -> Int {
    1 + script.utf8.prefix(offset).filter { $0 == UInt8(ascii: "\n") }.count
}

@Suite struct SQLSplitterPropertyTests {
    @Test(arguments: SQLSplitDialect.allCases)
    func joinedStatementsSplitBackIntoTheSameStatements(dialect: SQLSplitDialect) throws {
        var generator = StatementGenerator(dialect: dialect, random: SplitMix64(state: dialect == .postgres ? 2024 : 1105))
        for _ in 0..<600 {
            var script = generator.noise(delimiter: ";")
            var expected: [SQLStatement] = []
            for index in 0..<Int.random(in: 1...6, using: &generator.random) {
                let text = generator.statement()
                expected.append(SQLStatement(text: text, line: lineOf(offset: script.utf8.count, in: script), index: index))
                script += text + ";\n" + generator.noise(delimiter: ";")
            }
            let statements = try SQLSplitter.split(script, dialect: dialect)
            #expect(statements == expected, "script:\n\(script)")
            if statements != expected { return }
        }
    }

    @Test func mysqlChunksUnderAnotherDelimiterSplitAsTheServerReadsThem() throws {
        // The `mysql` client sends a chunk whole, with multi-statements; the server then
        // runs its statements one by one, a routine's `;`-separated body staying whole.
        var generator = StatementGenerator(dialect: .mysql, random: SplitMix64(state: 77))
        for _ in 0..<500 {
            let delimiter = ["//", "$$", ";;"].randomElement(using: &generator.random)!
            var script = "DELIMITER \(delimiter)\n"
            var expected: [SQLStatement] = []
            for _ in 0..<Int.random(in: 1...4, using: &generator.random) {
                let line = lineOf(offset: script.utf8.count, in: script)
                let bodyCount = Int.random(in: 1...3, using: &generator.random)
                if Bool.random(using: &generator.random) {
                    var text = "CREATE PROCEDURE p\(expected.count)()\nBEGIN\n"
                    for _ in 0..<bodyCount { text += "  " + generator.statement() + ";\n" }
                    text += "END"
                    expected.append(SQLStatement(text: text, line: line, index: expected.count))
                    script += text + delimiter + "\n"
                } else {
                    for index in 0..<bodyCount {
                        let text = generator.statement()
                        expected.append(SQLStatement(text: text, line: lineOf(offset: script.utf8.count, in: script),
                                                     index: expected.count))
                        script += text + (index + 1 < bodyCount ? ";\n" : delimiter + "\n")
                    }
                }
                script += generator.noise(delimiter: delimiter)
            }
            script += "delimiter ;\n"
            let statements = try SQLSplitter.split(script, dialect: .mysql)
            #expect(statements == expected, "script:\n\(script)")
            if statements != expected { return }
        }
    }
}
