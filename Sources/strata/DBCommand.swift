import ArgumentParser
import Foundation
import StrataDrivers
import StrataSQL

/// `strata db check`: connect and round-trip values, to see a driver work.
struct DB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Database connectivity.", subcommands: [DBCheck.self])
}

struct DBCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Connect, show the server, and round-trip one value of every kind.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await guarded(json: output.json) {
            let db = try connection.database(maxConnections: 1)
            let started = ContinuousClock.now
            let values: [(String, SQLValue)] = [
                ("int", .int(Int64.max)), ("double", .double(3.141592653589793)), ("string", .string("Grüße 🚀 '; --")),
                ("bytes", .bytes([0, 1, 254, 255])), ("timestamp", .timestamp(SQLTimestamp(microsecondsSinceEpoch: 1_700_000_000_123_456))),
                ("bool", .bool(true)), ("null", .null),
            ]
            let checked: (String, [String])
            do {
                checked = try await db.withConnection { conn -> (String, [String]) in
                    let version: String = try conn.queryFirst("SELECT version() AS v")!.decode("v")
                    var results: [String] = []
                    for (kind, value) in values {
                        let back = try conn.queryFirst("SELECT \(value) AS v")!["v"]!
                        let same: Bool
                        switch value {
                        case .int(let i): same = (try? Int64(sqlValue: back)) == i
                        case .double(let d): same = (try? Double(sqlValue: back)) == d
                        case .string(let s): same = (try? String(sqlValue: back)) == s
                        case .bytes(let b): same = (try? [UInt8](sqlValue: back)) == b
                        case .timestamp(let t): same = (try? SQLTimestamp(sqlValue: back)) == t
                        case .bool(let b): same = (try? Bool(sqlValue: back)) == b
                        default: same = back.isNull
                        }
                        results.append("\(kind)=\(same ? "ok" : "MISMATCH (\(back.kindName))")")
                    }
                    return (version, results)
                }
            } catch {
                await db.close()
                throw error
            }
            let (version, results) = checked
            let elapsed = ContinuousClock.now - started
            await db.close()
            let ok = !results.contains { $0.contains("MISMATCH") }
            if output.json {
                printJSON(["command": "db check", "ok": ok, "database": db.url.description, "server": version,
                           "round_trips": results, "ms": milliseconds(elapsed)])
            } else {
                print("\(db.url.backend.rawValue): connected to \(db.url) in \(formatMilliseconds(elapsed))")
                print("  server: \(version.prefix(80))")
                print("  round-trip: \(results.joined(separator: " "))")
            }
            if !ok { throw ExitCode(StrataExit.failure) }
        }
    }
}
