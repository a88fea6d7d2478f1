/// Tells whether a MySQL `;` ends the statement or belongs to the body of a stored
/// program, as the server's grammar decides.
///
/// Projects that send whole files through their driver with multi-statements write
/// `CREATE PROCEDURE p() BEGIN …; …; END;` without `DELIMITER`: the server reads the
/// body's `;` as part of the `CREATE`, so the splitter must too. It follows the grammar
/// of compound statements (`sp_proc_stmt` in the server's parser), on tokens, so a
/// keyword inside a string, a comment, a backtick identifier or after a `.` (`NEW.end`)
/// never counts:
///
/// - a statement is tracked only when it is a stored program — `CREATE [OR REPLACE]
///   [DEFINER = …] [AGGREGATE] PROCEDURE | FUNCTION | TRIGGER | EVENT`, `ALTER … EVENT`
///   (its `DO` body) — or a compound statement at the top level, which MariaDB runs
///   outside a stored program too: `BEGIN NOT ATOMIC`, `IF`, `CASE`, `LOOP`, `REPEAT`,
///   `WHILE`, `FOR` and labels (`lbl: BEGIN`). `BEGIN;` and `BEGIN WORK` start a
///   transaction (they are `START TRANSACTION`), and every other statement ends at its
///   first `;`, as before;
/// - inside one, `BEGIN`, `IF`, `LOOP`, `REPEAT`, `WHILE`, `FOR` and `CASE` open a block
///   where a statement starts (after `;`, `BEGIN`, `THEN`, `ELSE`, `DO`, `LOOP`, `REPEAT`,
///   a label's `:`, a trigger's `FOR EACH ROW`, a handler's conditions), so the `IF()`
///   function, `IF EXISTS`, `REPEAT('x', 2)`, `FOR UPDATE` and `FOR EACH ROW` open none;
///   the body's first `BEGIN` opens one wherever it stands in the header;
/// - `CASE` elsewhere is the expression `CASE WHEN … END`: it opens a block that its
///   `END` closes;
/// - `END [IF | CASE | LOOP | REPEAT | WHILE | FOR] [label]` closes the innermost block
///   when it ends a statement list (after `;` or an empty `BEGIN`), or after `UNTIL …`
///   in a `REPEAT`;
/// - words inside parentheses open and close nothing (compound statements never stand
///   there, and a `CASE … END` there is whole), so `INSERT INTO log (begin, end)` is safe.
///
/// A statement the tracker cannot make sense of (an `END` with no open block, a block
/// still open where a `DELIMITER` chunk ends) is reported through ``isConsistent``, so
/// the splitter can fall back to what the `mysql` client does.
///
/// ```swift
/// var depth = SQLCompoundDepth()
/// // CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET NEW.a = 1; END
/// // after the `;` inside the body: depth.isOpen == true; after END: false
/// ```
struct SQLCompoundDepth {
    private enum Block: Equatable {
        case begin, conditional, caseStatement, caseExpression, loop, whileLoop, forLoop
        case repeatLoop(sawUntil: Bool)
    }

    private enum Mode {
        /// Too few tokens yet to know what the statement is.
        case undecided
        /// A statement that ends at its first `;`.
        case plain
        /// A stored program or a compound statement: blocks are tracked.
        case program
    }

    /// Where a `DECLARE … HANDLER FOR conditions body` stands: its body may open a block
    /// wherever the condition list ends.
    private enum Handler { case none, declared, body }

    private var mode = Mode.undecided
    /// The statement's first tokens, as lexemes, while ``mode`` is undecided.
    private var header: [String] = []
    private var blocks: [Block] = []
    private var parentheses = 0
    /// The previous significant lexeme of the statement; `nil` at its start.
    private var previous: String?
    private var handler = Handler.none

    /// Whether a `;` here belongs to the statement rather than ending it.
    var isOpen: Bool { !blocks.isEmpty }

    /// `false` once the statement held something the grammar does not allow, such as an
    /// `END` that closes nothing: the tracker's view of it cannot be trusted.
    private(set) var isConsistent = true

    /// Takes the next token of the statement into account: a significant one, or the
    /// `;` delimiter or symbol that the statement holds because ``isOpen`` said so.
    ///
    /// - Parameters:
    ///   - token: A token of the current statement.
    ///   - bytes: The script the token's range refers to.
    mutating func observe(_ token: SQLToken, in bytes: [UInt8]) {
        let lexeme: String
        switch token.kind {
        case .word: lexeme = String(decoding: bytes[token.range], as: UTF8.self).lowercased()
        case .symbol, .delimiter: lexeme = String(decoding: bytes[token.range], as: UTF8.self)
        // Opaque to the grammar: never a keyword, and never a statement's start.
        case .string, .quotedIdentifier, .executableComment: lexeme = "'"
        case .whitespace, .lineComment, .blockComment, .delimiterCommand: return
        }
        switch mode {
        case .plain:
            return
        case .program:
            process(lexeme)
        case .undecided:
            // No statement starts with these: a block closed too early cut this one off.
            if header.isEmpty, ["end", "else", "elseif", "until", "when"].contains(lexeme) { isConsistent = false }
            header.append(lexeme)
            guard let decided = Self.classify(header) else { return }
            mode = decided
            if decided == .program {
                // The header holds no block opener but the ones the grammar allows there
                // (`BEGIN NOT ATOMIC`, `IF` or a label at the top level): replay it.
                for lexeme in header { process(lexeme) }
            }
            header = []
        }
    }

    /// Whether the statement's first tokens make a stored program or a compound
    /// statement; `nil` while they do not tell yet.
    private static func classify(_ tokens: [String]) -> Mode? {
        guard let first = tokens.first else { return nil }
        switch first {
        case "create", "alter":
            var index = 1
            while index < tokens.count {
                switch tokens[index] {
                case "or", "replace", "aggregate":
                    index += 1
                case "definer":
                    // DEFINER = user [@ host], the user possibly CURRENT_USER[()].
                    index += 3
                    guard index < tokens.count else { return nil }
                    if tokens[index] == "(" {
                        index += 2
                    } else if tokens[index] == "@" {
                        index += 2
                    }
                case "procedure", "function", "trigger", "event":
                    return .program
                default:
                    return .plain
                }
            }
            return nil
        case "begin":
            // BEGIN NOT ATOMIC is a block; BEGIN and BEGIN WORK start a transaction.
            guard tokens.count > 1 else { return nil }
            return tokens[1] == "not" ? .program : .plain
        case "if", "case", "loop", "repeat", "while", "for":
            return .program
        default:
            // `label: LOOP` and the like; no other statement has a `:` second.
            guard tokens.count > 1 else { return nil }
            return tokens[1] == ":" ? .program : .plain
        }
    }

    /// Whether a statement of a stored program's body may start after `previous`.
    private var isAtStatementStart: Bool {
        guard let previous else { return true }
        switch previous {
        case ";", "begin", "atomic", "do", "loop", "repeat", ":", "row":
            return true
        case "then", "else":
            return blocks.last != .caseExpression
        case ")":
            // `CREATE PROCEDURE p() IF …`: a body without BEGIN right after the header.
            return blocks.isEmpty
        default:
            return false
        }
    }

    private mutating func process(_ lexeme: String) {
        defer { previous = lexeme }
        switch lexeme {
        case "(":
            parentheses += 1
            return
        case ")":
            parentheses = max(parentheses - 1, 0)
            return
        default:
            if parentheses > 0 { return }
        }
        let afterEnd = previous == "end"
        let opensHere = isAtStatementStart || handler == .body
        switch lexeme {
        case ";":
            handler = .none
        case "begin":
            if previous != ".", previous != "@", opensHere || blocks.isEmpty { open(.begin) }
        case "if", "loop", "repeat", "while", "for":
            if lexeme == "for", handler == .declared {
                handler = .body
            } else if !afterEnd, opensHere {
                open(lexeme == "if" ? .conditional : lexeme == "loop" ? .loop : lexeme == "while" ? .whileLoop
                     : lexeme == "for" ? .forLoop : .repeatLoop(sawUntil: false))
            }
        case "case":
            if !afterEnd { open(isAtStatementStart ? .caseStatement : .caseExpression) }
        case "until":
            if case .repeatLoop = blocks.last, isAtStatementStart {
                blocks[blocks.count - 1] = .repeatLoop(sawUntil: true)
            }
        case "handler":
            if !blocks.isEmpty { handler = .declared }
        case "end":
            guard let innermost = blocks.last else {
                if previous == ";" { isConsistent = false }
                return
            }
            let endsStatementList = previous == ";" || previous == "begin" || previous == "atomic"
            if innermost == .caseExpression || endsStatementList || innermost == .repeatLoop(sawUntil: true) {
                blocks.removeLast()
            }
        default:
            break
        }
    }

    private mutating func open(_ block: Block) {
        blocks.append(block)
        handler = .none
    }
}
