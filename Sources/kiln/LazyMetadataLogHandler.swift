import Logging

/// swift-log's `StreamLogHandler`, with the logger's metadata kept aside until a line is written.
///
/// `StreamLogHandler` renders its metadata to text on every change (`metadata`'s `didSet`), and every request
/// sets its id (`hb.request.id`) on its logger: about 2 % of a get-status's CPU, for lines that are rarely
/// written. Here a change only stores the value; a line is rendered as `StreamLogHandler` renders it, with the
/// same metadata.
struct LazyMetadataLogHandler: LogHandler {
    private var stream: StreamLogHandler
    var metadata: Logger.Metadata = [:]

    init(_ stream: StreamLogHandler) {
        self.stream = stream
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var stream = stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}
