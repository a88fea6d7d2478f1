internal import CLibPQ
import Logging

/// Receives server notices (`NOTICE`, `WARNING`) and logs them.
final class NoticeSink {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }

    func receive(_ result: OpaquePointer) {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
        }
        let severity = field("V") ?? field("S") ?? "NOTICE"
        let message = field("M") ?? ""
        let level: Logger.Level = severity == "WARNING" ? .warning : .debug
        logger.log(level: level, "\(message)", metadata: ["severity": "\(severity)", "sqlstate": "\(field("C") ?? "")"])
    }
}
