public import NIOCore

/// Frames and decodes a client's handshake: first untyped packets (`SSLRequest`, `GSSENCRequest`,
/// `CancelRequest`, `StartupMessage`), then typed messages once the startup message arrived.
/// Lengths outside `4...maximumLength` are a protocol violation, so a client cannot make Kiln buffer
/// more than that.
public struct FrontendDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = FrontendMessage

    private var startupDone = false
    private let maximumLength: Int

    public init(maximumLength: Int = 10_000) {
        self.maximumLength = maximumLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    /// At end of input, decodes what is left; when the handler is removed (the proxy stops parsing),
    /// passes any unread bytes on as they are.
    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if !seenEOF { return Self.passOn(context: context, buffer: &buffer) }
        return try decode(context: context, buffer: &buffer)
    }

    /// Decodes one message from the front of `buffer`, or nil when it holds less than one.
    public mutating func next(_ buffer: inout ByteBuffer) throws(WireError) -> FrontendMessage? {
        startupDone ? try typed(&buffer) : try untyped(&buffer)
    }

    private mutating func untyped(_ buffer: inout ByteBuffer) throws(WireError) -> FrontendMessage? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard length >= 8, length <= maximumLength else { throw WireError("invalid length of startup packet: \(length)") }
        guard buffer.readableBytes >= Int(length), var body = buffer.readSlice(length: Int(length)) else { return nil }
        body.moveReaderIndex(forwardBy: 4)
        let code: Int32 = body.readInteger()!
        switch code {
        case WireConstants.sslRequestCode where length == 8:
            return .sslRequest
        case WireConstants.gssEncryptionRequestCode where length == 8:
            return .gssEncryptionRequest
        case WireConstants.cancelRequestCode where length == 16:
            return .cancel(CancelKey(processID: body.readInteger()!, secret: body.readInteger()!))
        case WireConstants.protocolVersion3:
            var pairs: [(String, String)] = []
            while true {
                guard let name = body.readNullTerminatedString() else { throw WireError("invalid startup packet layout: expected terminator as last byte") }
                if name.isEmpty { break }
                guard let value = body.readNullTerminatedString() else { throw WireError("invalid startup packet layout: missing value of \(name)") }
                pairs.append((name, value))
            }
            guard body.readableBytes == 0 else { throw WireError("invalid startup packet layout: bytes after the terminator") }
            startupDone = true
            return .startup(StartupParameters(pairs))
        default:
            let major = code >> 16
            let minor = code & 0xffff
            throw WireError("unsupported frontend protocol \(major).\(minor): server supports 3.0", code: "0A000")
        }
    }

    private mutating func typed(_ buffer: inout ByteBuffer) throws(WireError) -> FrontendMessage? {
        guard let (type, body) = try MessageFraming.next(&buffer, maximumLength: maximumLength) else { return nil }
        switch type {
        case UInt8(ascii: "p"): return .password(body)
        case UInt8(ascii: "X"):
            startupDone = false // the connection is over; whatever follows starts afresh
            return .terminate
        default: return .other(type: type)
        }
    }
}

extension FrontendDecoder {
    /// Forwards unread bytes untouched (to the byte copier that replaces the decoder).
    static func passOn(context: ChannelHandlerContext, buffer: inout ByteBuffer) -> DecodingState {
        if buffer.readableBytes > 0, let rest = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(NIOAny(rest))
        }
        return .needMoreData
    }
}

/// The framing of typed messages: a type byte, then a length that counts itself.
public enum MessageFraming {
    public static func next(_ buffer: inout ByteBuffer, maximumLength: Int) throws(WireError) -> (UInt8, ByteBuffer)? {
        guard let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: Int32.self)
        else { return nil }
        guard length >= 4, length <= maximumLength else { throw WireError("invalid message length \(length)") }
        guard buffer.readableBytes >= 1 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        return (type, buffer.readSlice(length: Int(length) - 4)!)
    }
}

/// A violation of the protocol by the peer; `code` is the SQLSTATE to answer with.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public var code: String

    public init(_ description: String, code: String = "08P01") {
        self.description = description
        self.code = code
    }
}
