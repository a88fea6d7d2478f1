import Foundation
import Testing

/// The built `strata` executable, run as a pipeline would run it.
enum StrataCLI {
    /// Where the binary is: `$STRATA_BIN`, or beside the test bundle in the build folder.
    static func binary() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["STRATA_BIN"] {
            return URL(fileURLWithPath: path)
        }
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("strata")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        throw CLIMissing()
    }

    struct CLIMissing: Error, CustomStringConvertible {
        var description: String { "the strata executable is not built: run `swift build` (scripts/test does) or set STRATA_BIN" }
    }

    struct Result: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
        /// From the start to the exit, measured on the thread that waits for the process
        /// (so a busy test pool does not count).
        var duration: Duration = .zero
        var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        }
    }

    /// Starts `strata` with arguments and environment, without waiting.
    static func start(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "DATABASE_URL")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs `strata` to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) async throws -> Result {
        let started = ContinuousClock.now
        let (process, out, err) = try start(arguments, environment: environment, directory: directory)
        return await finish(process, out, err, started: started)
    }

    /// Waits for a process that ``start(_:environment:directory:)`` started, with its output.
    static func finish(_ process: Process, _ out: Pipe, _ err: Pipe, started: ContinuousClock.Instant = .now) async -> Result {
        // The blocking reads run on threads of their own, never on the threads that run
        // the tests' tasks: on a 2-core machine two blocked ones would stall every test.
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let stderrBox = UncheckedData()
                let reader = Thread { stderrBox.set(err.fileHandleForReading.readDataToEndOfFile()) }
                reader.start()
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let duration = ContinuousClock.now - started
                let stderr = stderrBox.wait()
                continuation.resume(returning: Result(status: process.terminationStatus,
                                                      stdout: String(decoding: stdout, as: UTF8.self),
                                                      stderr: String(decoding: stderr, as: UTF8.self),
                                                      duration: duration))
            }
        }
    }
}

/// Bytes handed from one thread to another that waits for them.
private final class UncheckedData: @unchecked Sendable {
    private let condition = NSCondition()
    private var data: Data?

    func set(_ value: Data) {
        condition.lock()
        data = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> Data {
        condition.lock()
        defer { condition.unlock() }
        while data == nil { condition.wait() }
        return data!
    }
}
