import Foundation
import Logging
import StrataDrivers
import StrataSeeds
import StrataSQL

/// One libFuzzer input: any bytes as CSV, as JSON, and as the three seed files.
///
/// Besides not crashing or hanging: every line a reader or the validator names is a
/// line of the input, records come in line order, a JSON value read back from its
/// canonical text is the same value, and every validation problem names its file.
/// No database is needed: validation reads files only.
func fuzz(_ bytes: UnsafeBufferPointer<UInt8>) -> CInt {
    let bytes = Data(bytes)
    let text = String(decoding: bytes, as: UTF8.self)
    let lines = lineCount(text)

    do {
        var previous = 0
        for record in try CSVReader.records(in: text) {
            require(record.line > previous && record.line <= lines, "CSV record on line \(record.line) after \(previous), of \(lines)")
            require(!record.fields.isEmpty, "CSV record on line \(record.line) has no field")
            previous = record.line
        }
    } catch {
        require((1...lines).contains(error.line), "CSV error on line \(error.line) of \(lines): \(error)")
    }

    do {
        var previous = 0
        for record in try JSONReader.records(in: text) {
            require(record.line > previous && record.line <= lines, "JSON record on line \(record.line) after \(previous), of \(lines)")
            for field in record.fields {
                require(field.line >= record.line && field.line <= lines, "JSON field on line \(field.line), record on \(record.line)")
            }
            previous = record.line
        }
    } catch {
        require((1...lines).contains(error.line), "JSON error on line \(error.line) of \(lines): \(error)")
    }

    do {
        let value = try JSONReader.value(in: text)
        let again = try JSONReader.value(in: value.canonicalText)
        require(again == value, "\(value.canonicalText) reads back as \(again.canonicalText)")
    } catch {
        require((1...lines).contains(error.line), "JSON value error on line \(error.line) of \(lines): \(error)")
    }

    // The same bytes as every seed file, through the validator that loads them.
    do {
        for kind in SeedKind.allCases {
            try bytes.write(to: folder.appendingPathComponent(kind.fileName))
        }
        try seeder.validate(SeedKind.allCases)
    } catch let error as SeedError {
        for problem in error.problems {
            require(labels.contains(problem.file), "a problem names \(problem.file)")
            if let line = problem.line {
                require((1...lines).contains(line), "\(problem) names line \(line) of \(lines)")
            }
        }
    } catch {
        fatalError("cannot write the seed files: \(error)")
    }
    return 0
}

/// In memory where the system has /dev/shm: files written to disk by the thousand a
/// second made the disk, not the readers, what the target measured.
private let folder: URL = {
    let shm = URL(fileURLWithPath: "/dev/shm")
    let parent = FileManager.default.isWritableFile(atPath: shm.path) ? shm : FileManager.default.temporaryDirectory
    let url = parent.appendingPathComponent("strata-fuzz-seeds-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    // libFuzzer ends with exit(): the folder goes then (an abort leaves it for the post-mortem).
    atexit { try? FileManager.default.removeItem(at: folder) }
    return url
}()

private let labels = Set(SeedKind.allCases.map { "seeds/\($0.fileName)" })

/// A seeder that only validates: its database is never connected to.
private let seeder = CatalogueSeeder(
    database: Database(url: try! DatabaseURL("postgres://nobody@127.0.0.1:1/none"), maxConnections: 1,
                       logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })),
    directory: folder, directoryLabel: "seeds", logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))

/// Lines as a person counts them: LF, CRLF and a lone CR each end one.
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
