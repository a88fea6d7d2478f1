import Foundation
import StrataMigrations

/// One libFuzzer input: any bytes, split as a PostgreSQL and as a MySQL script.
///
/// Besides not crashing or hanging, what comes back must describe the input: an error
/// names a line of it; statements are numbered from 0, start on lines of the input in
/// order, and are pieces of it with no blanks around them.
func fuzz(_ bytes: UnsafeBufferPointer<UInt8>) -> CInt {
    let sql = String(decoding: bytes, as: UTF8.self)
    let lines = lineCount(sql)
    let input = Data(sql.utf8)
    for dialect in SQLSplitDialect.allCases {
        let statements: [SQLStatement]
        do {
            statements = try SQLSplitter.split(sql, dialect: dialect)
        } catch {
            require((1...lines).contains(error.line), "\(dialect): error on line \(error.line) of \(lines): \(error)")
            continue
        }
        var previousLine = 1
        for (position, statement) in statements.enumerated() {
            require(statement.index == position, "\(dialect): statement \(position) numbered \(statement.index)")
            require((previousLine...lines).contains(statement.line),
                    "\(dialect): statement \(position) on line \(statement.line), after line \(previousLine), of \(lines)")
            previousLine = statement.line
            require(!statement.text.isEmpty, "\(dialect): statement \(position) is empty")
            // Blanks as the lexer knows them: ASCII (a space before a combining mark is
            // one Character, not a blank).
            let blank = { (byte: UInt8) in byte == 0x20 || (0x09...0x0D).contains(byte) }
            require(!blank(statement.text.utf8.first!) && !blank(statement.text.utf8.last!),
                    "\(dialect): statement \(position) has blanks around it")
            require(input.range(of: Data(statement.text.utf8)) != nil, "\(dialect): statement \(position) is not a piece of the input")
            _ = SQLSplitter.requiresNoTransaction(statement)
        }
    }
    return 0
}

/// Lines as the splitter counts them: LF, CRLF and a lone CR each end one.
private func lineCount(_ text: String) -> Int {
    var lines = 1
    var previous: UInt8 = 0
    for byte in text.utf8 {
        if byte == UInt8(ascii: "\n") && previous != UInt8(ascii: "\r") || byte == UInt8(ascii: "\r") { lines += 1 }
        previous = byte
    }
    return lines
}

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant broken: \(message())") }
}
