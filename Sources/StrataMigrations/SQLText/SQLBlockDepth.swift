/// Tells whether a PostgreSQL `;` ends the statement or belongs to it, as `psql` does.
///
/// `psql` keeps a `;` inside parentheses (`CREATE RULE … DO ALSO (…; …)`) and inside the
/// `BEGIN ATOMIC … END` body of a SQL-standard function or procedure. For the latter it
/// uses a heuristic, followed here: only in a statement that starts with
/// `CREATE [OR REPLACE] FUNCTION | PROCEDURE`, and outside parentheses, `BEGIN` opens a
/// block, `END` closes one, and `CASE` opens one when already inside a block (it also
/// closes with `END`).
struct SQLBlockDepth {
    private var parentheses = 0
    private var blocks = 0
    private var leadingWords: [String] = []
    private var isRoutineDefinition = false

    /// Whether a `;` here is inside the statement rather than its end.
    var isOpen: Bool { parentheses > 0 || blocks > 0 }

    /// Takes the next significant token of the statement into account.
    ///
    /// - Parameters:
    ///   - token: A significant token of the current statement.
    ///   - bytes: The script the token's range refers to.
    mutating func observe(_ token: SQLToken, in bytes: [UInt8]) {
        switch token.kind {
        case .symbol where bytes[token.range.lowerBound] == UInt8(ascii: "("):
            parentheses += 1
        case .symbol where bytes[token.range.lowerBound] == UInt8(ascii: ")"):
            parentheses = max(parentheses - 1, 0)
        case .word where !(0x30...0x39).contains(bytes[token.range.lowerBound]):
            guard leadingWords.count < 4 || isRoutineDefinition else { return }
            let word = String(decoding: bytes[token.range], as: UTF8.self).lowercased()
            if leadingWords.count < 4 {
                leadingWords.append(word)
                isRoutineDefinition = Self.startsRoutineDefinition(leadingWords)
            }
            guard isRoutineDefinition, parentheses == 0 else { return }
            switch word {
            case "begin": blocks += 1
            case "case" where blocks > 0: blocks += 1
            case "end" where blocks > 0: blocks -= 1
            default: break
            }
        default:
            break
        }
    }

    /// Whether the words begin `CREATE [OR REPLACE] FUNCTION | PROCEDURE`.
    private static func startsRoutineDefinition(_ words: [String]) -> Bool {
        let routine = ["function", "procedure"]
        return words.first == "create" && (
            (words.count > 1 && routine.contains(words[1]))
                || (words.count > 3 && words[1] == "or" && words[2] == "replace" && routine.contains(words[3]))
        )
    }
}
