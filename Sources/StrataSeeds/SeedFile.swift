import Crypto
import Foundation

/// A seed file read and validated in full: its rows, ready to load.
///
/// Validation goes through every row and collects every problem (syntax, unknown or
/// missing columns, types, ranges, duplicate keys) before reporting, so one run shows
/// all that needs fixing. A file with any problem yields no rows at all.
struct SeedFile: Sendable {
    let table: CatalogueTable
    /// The file as it was named in messages and the history.
    let label: String
    /// SHA-256 of the file's bytes, lower-case hex.
    let checksum: String
    let records: [SeedRecord]

    var kind: SeedKind { table.kind }

    /// Reads the catalogue of `kind` from `directory` and validates every row.
    ///
    /// - Parameters:
    ///   - directoryLabel: how the folder is named in messages (`seeds`).
    /// - Throws: ``SeedError`` with every problem found.
    static func load(_ kind: SeedKind, directory: URL, directoryLabel: String) throws(SeedError) -> SeedFile {
        let label = directoryLabel.isEmpty ? kind.fileName : "\(directoryLabel)/\(kind.fileName)"
        let url = directory.appendingPathComponent(kind.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw SeedError(file: label, line: nil, message: "no such file")
        }
        let data: Data
        do {
            // A file handle, not Data(contentsOf:), which on Linux (Swift 6.3's Foundation)
            // leaks a 4 KB buffer each time it reads an empty file.
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch {
            throw SeedError(file: label, line: nil, message: "cannot be read (\(error.localizedDescription))")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SeedError(file: label, line: nil, message: "is not UTF-8 text")
        }
        var validator = Validator(table: CatalogueTable.forKind(kind), label: label)
        let records = try validator.records(in: text)
        let checksum = SHA256.hash(data: data).lowercaseHex
        return SeedFile(table: validator.table, label: label, checksum: checksum, records: records)
    }

    /// Turns text into rows, collecting problems on the way.
    private struct Validator {
        let table: CatalogueTable
        let label: String
        var problems: [SeedProblem] = []

        init(table: CatalogueTable, label: String) {
            self.table = table
            self.label = label
        }

        mutating func report(_ line: Int?, _ message: String) {
            problems.append(SeedProblem(file: label, line: line, message: message))
        }

        mutating func records(in text: String) throws(SeedError) -> [SeedRecord] {
            var records: [SeedRecord]
            do {
                records = table.kind.fileName.hasSuffix(".csv") ? try csvRecords(text) : try jsonRecords(text)
            } catch {
                throw SeedError(file: label, line: error.line, message: error.message)
            }
            if problems.isEmpty && records.isEmpty {
                report(nil, "has no rows (a catalogue is never empty; deactivate rows with \"active\" instead)")
            }
            rejectDuplicates(records)
            guard problems.isEmpty else {
                // Stable, so two problems on one line keep the order they were found in.
                throw SeedError(problems: problems.enumerated().sorted {
                    ($0.element.line ?? 0, $0.offset) < ($1.element.line ?? 0, $1.offset)
                }.map(\.element))
            }
            records.sort { $0.line < $1.line }
            return records
        }

        var columnList: String { table.columns.map(\.name).joined(separator: ", ") }

        mutating func csvRecords(_ text: String) throws(TextSyntaxError) -> [SeedRecord] {
            let csv = try CSVReader.records(in: text)
            guard let header = csv.first else { return [] }
            var seen: [String: Int] = [:]
            for (position, name) in header.fields.enumerated() {
                if table.column(named: name) == nil {
                    report(header.line, "unknown column \"\(name)\" (the columns are \(columnList))")
                } else if let first = seen[name] {
                    report(header.line, "column \"\(name)\" appears twice in the header (fields \(first + 1) and \(position + 1))")
                }
                seen[name] = seen[name] ?? position
            }
            for column in table.columns where column.isRequired && seen[column.name] == nil {
                report(header.line, "missing required column \"\(column.name)\"")
            }
            guard problems.isEmpty else { return [] }

            var records: [SeedRecord] = []
            for row in csv.dropFirst() {
                guard row.fields.count == header.fields.count else {
                    report(row.line, "has \(row.fields.count) field\(row.fields.count == 1 ? "" : "s"), the header has \(header.fields.count)")
                    continue
                }
                var values: [String: SeedValue] = [:]
                var complete = true
                for (name, field) in zip(header.fields, row.fields) {
                    let column = table.column(named: name)!
                    if field.isEmpty {
                        // An optional column left empty gives no value (see SeedRecord).
                        if column.isRequired {
                            report(row.line, "\(name) is required (the field is empty)")
                            complete = false
                        }
                        continue
                    }
                    do {
                        values[name] = try column.value(fromText: field)
                    } catch {
                        report(row.line, error.message)
                        complete = false
                    }
                }
                if complete, case .text(let key)? = values[table.key] {
                    records.append(SeedRecord(line: row.line, key: key, values: values))
                }
            }
            return records
        }

        mutating func jsonRecords(_ text: String) throws(TextSyntaxError) -> [SeedRecord] {
            var records: [SeedRecord] = []
            for object in try JSONReader.records(in: text) {
                var values: [String: SeedValue] = [:]
                var complete = true
                for field in object.fields {
                    guard let column = table.column(named: field.name) else {
                        report(field.line, "unknown field \"\(field.name)\" (the fields are \(columnList))")
                        complete = false
                        continue
                    }
                    do {
                        values[field.name] = try column.value(fromJSON: field.value)
                    } catch {
                        report(field.line, error.message)
                        complete = false
                    }
                }
                for column in table.columns where column.isRequired && !object.fields.contains(where: { $0.name == column.name }) {
                    report(object.line, "missing required field \"\(column.name)\"")
                    complete = false
                }
                if complete, case .text(let key)? = values[table.key] {
                    records.append(SeedRecord(line: object.line, key: key, values: values))
                }
            }
            return records
        }

        /// The key, and every other unique column, names each row once.
        mutating func rejectDuplicates(_ records: [SeedRecord]) {
            for column in [table.key] + table.uniqueColumns {
                var firstLine: [String: Int] = [:]
                for record in records {
                    guard let value = record.values[column]?.description else { continue }
                    if let first = firstLine[value] {
                        report(record.line, "duplicate \(column) \"\(value)\" (also on line \(first))")
                    } else {
                        firstLine[value] = record.line
                    }
                }
            }
        }
    }
}
