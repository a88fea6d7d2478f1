import Foundation
import Logging

/// The CLI's log handler: one line a record on standard error,
/// `2026-12-04T05:30:00.123456Z warning strata: message key=value …`.
///
/// Metadata is formatted when a record is written, never when it is set. swift-log's
/// `StreamLogHandler` formats all of a logger's metadata again at every change, and
/// Hummingbird gives each request's logger its request id: in `strata serve` that was
/// about 2.5% of a charge's CPU (perf under `scripts/bench http`) for lines that, at the
/// default level, are never written.
///
/// A line goes out in one `write(2)`, so lines of concurrent requests never interleave.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var line = Self.timestamp()
        line += " \(event.level) \(label): \(event.message)"
        for key in merged.keys.sorted() {
            line += " \(key)=\(merged[key]!)"
        }
        // A message or a value may hold a newline (an error's text): the record stays one line.
        var bytes = line.utf8.map { $0 == UInt8(ascii: "\n") ? UInt8(ascii: " ") : $0 }
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0, errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// Now in UTC with microseconds, ISO 8601.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = time_t(now.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let head = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let micros = String(Int(now.tv_nsec) / 1000)
        return head + "." + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
    }
}
