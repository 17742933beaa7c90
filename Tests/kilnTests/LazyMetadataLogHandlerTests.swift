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
        let provider = Logger.MetadataProvider { ["provided": "p", "path": "/from-provider"] }
        let stream = StreamLogHandler(label: "kiln", stream: lines, metadataProvider: provider)
        var logger = Logger(label: "kiln") { _ -> any LogHandler in lazily ? LazyMetadataLogHandler(stream) : stream }
        logger.logLevel = .info
        logger[metadataKey: "hb.request.id"] = "3f2a"
        logger[metadataKey: "path"] = "/api/2.0/workspace/export"
        logger.info("Request failed", metadata: ["error": "boom"])
        logger.debug("not written at info")
        logger.info("explicit", metadata: ["path": "/explicit"])
        logger[metadataKey: "path"] = nil
        logger.warning("again")
    }

    @Test func linesAreThoseOfStreamLogHandler() {
        let lazy = Lines()
        let stream = Lines()
        write(into: lazy, lazily: true)
        write(into: stream, lazily: false)
        let written = lazy.withoutTimestamps
        #expect(written.count == 3)
        #expect(written == stream.withoutTimestamps)
        // The provider's metadata over the logger's, a line's own over both (StreamLogHandler's order).
        #expect(written.first?.contains("hb.request.id=3f2a") == true)
        #expect(written.first?.contains("provided=p") == true)
        #expect(written.first?.contains("path=/from-provider") == true)
        #expect(written.dropFirst().first?.contains("path=/explicit") == true)
        #expect(written.last?.contains("path=/from-provider") == true)
    }
}
