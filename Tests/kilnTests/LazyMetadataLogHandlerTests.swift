import Logging
import Synchronization
import Testing

@testable import kiln

/// `LazyMetadataLogHandler` writes the lines `StreamLogHandler` writes, metadata included.
@Suite struct LazyMetadataLogHandlerTests {
    /// A stream that keeps what is written to it.
    final class Lines: TextOutputStream, Sendable {
        private let text = Mutex("")
        func write(_ string: String) { text.withLock { $0 += string } }
        /// The lines written, each without its timestamp (the text up to the first space).
        var withoutTimestamps: [String] {
            text.withLock { $0 }.split(separator: "\n").map { String($0.drop { $0 != " " }) }
        }
    }

    private func write(into lines: Lines, lazily: Bool) {
        let stream = StreamLogHandler(label: "kiln", stream: lines, metadataProvider: nil)
        var logger = Logger(label: "kiln") { _ -> any LogHandler in lazily ? LazyMetadataLogHandler(stream) : stream }
        logger.logLevel = .info
        logger[metadataKey: "hb.request.id"] = "3f2a"
        logger[metadataKey: "path"] = "/api/2.0/workspace/export"
        logger.info("Request failed", metadata: ["error": "boom"])
        logger.debug("not written at info")
        logger[metadataKey: "path"] = nil
        logger.warning("again")
    }

    @Test func linesAreThoseOfStreamLogHandler() {
        let lazy = Lines()
        let stream = Lines()
        write(into: lazy, lazily: true)
        write(into: stream, lazily: false)
        #expect(lazy.withoutTimestamps.count == 2)
        #expect(lazy.withoutTimestamps == stream.withoutTimestamps)
        #expect(lazy.withoutTimestamps.first?.contains("hb.request.id=3f2a") == true)
        #expect(lazy.withoutTimestamps.first?.contains("path=/api/2.0/workspace/export") == true)
        #expect(lazy.withoutTimestamps.last?.contains("path=") == false)
    }
}
