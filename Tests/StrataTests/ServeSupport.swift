import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StrataSQL
import Testing

/// A `strata serve` process on a free port, started from the built binary against one
/// database, as a deployment would run it.
final class ServeProcess: @unchecked Sendable {
    static let jwtSecret = "test-jwt-secret-0123456789abcdef-0123456789"
    static let webhookSecret = "whsec_test_0123456789abcdef"

    let process: Process
    let baseURL: URL
    private let output = LineCollector()
    private let errors = LineCollector()

    /// Starts `strata serve --port 0` and waits for its listening line.
    ///
    /// - Throws: when the process exits or prints no listening line within 60 s, with
    ///   what it printed.
    init(databaseURL: String, arguments: [String] = [], environment: [String: String] = [:]) async throws {
        let (process, out, err) = try StrataCLI.start(
            ["serve", "--port", "0", "--migrations", projectRoot.appendingPathComponent("migrations").path,
             "--log-level", "info"] + arguments,
            environment: ["DATABASE_URL": databaseURL, "STRATA_JWT_SECRET": Self.jwtSecret,
                          "STRATA_WEBHOOK_SECRET": Self.webhookSecret].merging(environment) { $1 })
        self.process = process
        output.read(out.fileHandleForReading)
        errors.read(err.fileHandleForReading)
        let deadline = ContinuousClock.now + .seconds(60)
        var port: Int?
        while ContinuousClock.now < deadline, process.isRunning {
            if let line = output.lines.first(where: { $0.hasPrefix("strata serve: listening on http://") }),
               let p = line.split(separator: ":").last.flatMap({ Int($0) }) {
                port = p
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw ServeFailed(message: "strata serve did not start: stdout \(output.lines) stderr \(errors.lines.suffix(20))")
        }
        baseURL = URL(string: "http://127.0.0.1:\(port)")!
    }

    /// Sends SIGTERM and waits for the exit (at most `timeout`): the status and stderr.
    func stop(timeout: Duration = .seconds(30)) async throws -> (status: Int32, stderr: [String]) {
        if process.isRunning { process.terminate() }
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw ServeFailed(message: "strata serve did not exit within \(timeout) of SIGTERM")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(100))   // the readers reach the end of the pipes
        return (process.terminationStatus, errors.lines)
    }

    var stderrLines: [String] { errors.lines }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct ServeFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Lines a process prints, read on a thread of their own.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [String] = []

    var lines: [String] {
        lock.lock(); defer { lock.unlock() }
        return collected
    }

    func read(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lock.lock(); collected.append(line); lock.unlock()
                }
            }
            if !pending.isEmpty {
                lock.lock(); collected.append(String(decoding: pending, as: UTF8.self)); lock.unlock()
            }
        }
    }
}

/// One HTTP exchange's result.
struct HTTPResult: Sendable {
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body) as? [String: Any]) ?? [:] }

    func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }
}

/// A small HTTP client over URLSession, with room for many requests at once.
struct HTTPClient: Sendable {
    let baseURL: URL
    private let session: URLSession

    init(baseURL: URL) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 32
        configuration.timeoutIntervalForRequest = 60
        session = URLSession(configuration: configuration)
    }

    func send(_ method: String, _ path: String, token: String? = nil, json: Any? = nil, body: Data? = nil,
              headers: [String: String] = [:]) async throws -> HTTPResult {
        var request = URLRequest(url: URL(string: path, relativeTo: baseURL)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let body { request.httpBody = body }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (k, v) in http.allHeaderFields { fields["\(k)"] = "\(v)" }
        return HTTPResult(status: http.statusCode, headers: fields, body: data)
    }

    func get(_ path: String, token: String? = nil, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await send("GET", path, token: token, headers: headers)
    }

    func post(_ path: String, token: String? = nil, json: Any, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await send("POST", path, token: token, json: json, headers: headers)
    }
}

/// JWTs made by hand, so a test can make every kind of bad one.
enum TestJWT {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func segment(_ object: [String: Any]) -> String {
        base64URL(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A token with these claims, `exp` an hour away unless given.
    static func make(_ claims: [String: Any], header: [String: Any] = ["alg": "HS256", "typ": "JWT"],
                     secret: String = ServeProcess.jwtSecret, digest: String = "HS256") -> String {
        var claims = claims
        if claims["exp"] == nil { claims["exp"] = Int(Date().timeIntervalSince1970) + 3600 }
        let input = segment(header) + "." + segment(claims)
        let key = SymmetricKey(data: Data(secret.utf8))
        let mac: Data = switch digest {
        case "HS512": Data(HMAC<SHA512>.authenticationCode(for: Data(input.utf8), using: key))
        default: Data(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key))
        }
        return input + "." + base64URL(mac)
    }

    static func customer(_ sub: String) -> String { make(["sub": sub]) }
    static func admin(_ sub: String = "ops") -> String { make(["sub": sub, "role": "admin"]) }
}

/// Stripe's signature header for a payload: `t=<time>,v1=<HMAC-SHA256 of "t.payload">`.
func stripeSignature(_ payload: String, secret: String = ServeProcess.webhookSecret,
                     at time: Int = Int(Date().timeIntervalSince1970)) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Data("\(time).\(payload)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return "t=\(time),v1=" + mac.map { String(format: "%02x", $0) }.joined()
}

extension Backend {
    /// The test server's URL text for another database, password included, for a
    /// subprocess's `DATABASE_URL`.
    func rawURL(database: String) throws -> String {
        let variable = self == .postgres ? "STRATA_TEST_POSTGRES_URL" : "STRATA_TEST_MYSQL_URL"
        guard let raw = ProcessInfo.processInfo.environment[variable], !raw.isEmpty else {
            throw TestServerMissing(variable: variable)
        }
        return urlText(raw, database: database)
    }
}

/// A database URL's text, password included, pointed at another database (its query kept).
func urlText(_ raw: String, database: String) -> String {
    let query = raw.firstIndex(of: "?").map { String(raw[$0...]) } ?? ""
    let base = raw.firstIndex(of: "?").map { String(raw[..<$0]) } ?? raw
    guard let slash = base.lastIndex(of: "/") else { return raw }
    return String(base[...slash]) + database + query
}
