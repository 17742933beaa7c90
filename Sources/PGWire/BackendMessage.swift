public import NIOCore

/// What a server sends, as far as the proxy needs to understand it: authentication requests, the
/// session's parameters and key, readiness and errors. The rest passes through as `other`.
public enum BackendMessage: Sendable, Equatable {
    case authentication(Authentication)
    case parameterStatus(name: String, value: String)
    case backendKeyData(CancelKey)
    case readyForQuery(transactionStatus: UInt8)
    case errorResponse(ErrorFields)
    case noticeResponse(ErrorFields)
    case other(type: UInt8, body: ByteBuffer)

    /// `AuthenticationXxx` (`R`).
    public enum Authentication: Sendable, Equatable {
        case ok
        case cleartextPassword
        case md5Password(salt: UInt32)
        case sasl(mechanisms: [String])
        case saslContinue(ByteBuffer)
        case saslFinal(ByteBuffer)
        case other(code: Int32)
    }

    /// Decodes the body of a message of `type`.
    public static func decode(type: UInt8, body: ByteBuffer) throws(WireError) -> BackendMessage {
        var body = body
        switch type {
        case UInt8(ascii: "R"):
            guard let code: Int32 = body.readInteger() else { throw WireError("truncated authentication request") }
            switch code {
            case 0: return .authentication(.ok)
            case 3: return .authentication(.cleartextPassword)
            case 5:
                guard let salt: UInt32 = body.readInteger() else { throw WireError("truncated MD5 request") }
                return .authentication(.md5Password(salt: salt))
            case 10:
                var mechanisms: [String] = []
                while let name = body.readNullTerminatedString(), !name.isEmpty { mechanisms.append(name) }
                return .authentication(.sasl(mechanisms: mechanisms))
            case 11: return .authentication(.saslContinue(body))
            case 12: return .authentication(.saslFinal(body))
            default: return .authentication(.other(code: code))
            }
        case UInt8(ascii: "S"):
            guard let name = body.readNullTerminatedString(), let value = body.readNullTerminatedString() else {
                throw WireError("truncated ParameterStatus")
            }
            return .parameterStatus(name: name, value: value)
        case UInt8(ascii: "K"):
            guard let pid: Int32 = body.readInteger(), let secret: Int32 = body.readInteger() else { throw WireError("truncated BackendKeyData") }
            return .backendKeyData(CancelKey(processID: pid, secret: secret))
        case UInt8(ascii: "Z"):
            guard let status: UInt8 = body.readInteger() else { throw WireError("truncated ReadyForQuery") }
            return .readyForQuery(transactionStatus: status)
        case UInt8(ascii: "E"):
            return .errorResponse(try ErrorFields.decode(&body))
        case UInt8(ascii: "N"):
            return .noticeResponse(try ErrorFields.decode(&body))
        default:
            return .other(type: type, body: body)
        }
    }

    /// The message's bytes, type byte and length included.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .authentication(let request):
            Self.frame(UInt8(ascii: "R"), into: &buffer) { buffer in
                switch request {
                case .ok: buffer.writeInteger(Int32(0))
                case .cleartextPassword: buffer.writeInteger(Int32(3))
                case .md5Password(let salt):
                    buffer.writeInteger(Int32(5))
                    buffer.writeInteger(salt)
                case .sasl(let mechanisms):
                    buffer.writeInteger(Int32(10))
                    for name in mechanisms { buffer.writeNullTerminatedString(name) }
                    buffer.writeInteger(UInt8(0))
                case .saslContinue(var data):
                    buffer.writeInteger(Int32(11))
                    buffer.writeBuffer(&data)
                case .saslFinal(var data):
                    buffer.writeInteger(Int32(12))
                    buffer.writeBuffer(&data)
                case .other(let code): buffer.writeInteger(code)
                }
            }
        case .parameterStatus(let name, let value):
            Self.frame(UInt8(ascii: "S"), into: &buffer) {
                $0.writeNullTerminatedString(name)
                $0.writeNullTerminatedString(value)
            }
        case .backendKeyData(let key):
            Self.frame(UInt8(ascii: "K"), into: &buffer) {
                $0.writeInteger(key.processID)
                $0.writeInteger(key.secret)
            }
        case .readyForQuery(let status):
            Self.frame(UInt8(ascii: "Z"), into: &buffer) { $0.writeInteger(status) }
        case .errorResponse(let fields):
            Self.frame(UInt8(ascii: "E"), into: &buffer) { fields.encode(into: &$0) }
        case .noticeResponse(let fields):
            Self.frame(UInt8(ascii: "N"), into: &buffer) { fields.encode(into: &$0) }
        case .other(let type, var body):
            Self.frame(type, into: &buffer) { $0.writeBuffer(&body) }
        }
    }

    static func frame(_ type: UInt8, into buffer: inout ByteBuffer, _ body: (inout ByteBuffer) -> Void) {
        buffer.writeInteger(type)
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        body(&buffer)
        buffer.setInteger(Int32(buffer.writerIndex - start), at: start)
    }
}

/// The fields of an `ErrorResponse` or `NoticeResponse`: severity, SQLSTATE, message, ….
public struct ErrorFields: Sendable, Equatable {
    public var fields: [(UInt8, String)]

    public init(_ fields: [(UInt8, String)]) { self.fields = fields }

    /// A `FATAL` error with `code` (SQLSTATE) and `message`.
    public static func fatal(_ code: String, _ message: String) -> ErrorFields {
        ErrorFields([(UInt8(ascii: "S"), "FATAL"), (UInt8(ascii: "V"), "FATAL"), (UInt8(ascii: "C"), code), (UInt8(ascii: "M"), message)])
    }

    public subscript(field: Character) -> String? {
        fields.first { $0.0 == field.asciiValue }?.1
    }

    public var code: String? { self["C"] }
    public var message: String? { self["M"] }

    static func decode(_ body: inout ByteBuffer) throws(WireError) -> ErrorFields {
        var fields: [(UInt8, String)] = []
        while let type: UInt8 = body.readInteger(), type != 0 {
            guard let value = body.readNullTerminatedString() else { throw WireError("truncated error field") }
            fields.append((type, value))
        }
        return ErrorFields(fields)
    }

    func encode(into buffer: inout ByteBuffer) {
        for (type, value) in fields {
            buffer.writeInteger(type)
            buffer.writeNullTerminatedString(value)
        }
        buffer.writeInteger(UInt8(0))
    }

    public static func == (lhs: ErrorFields, rhs: ErrorFields) -> Bool {
        lhs.fields.map { "\($0.0):\($0.1)" } == rhs.fields.map { "\($0.0):\($0.1)" }
    }
}

/// Frames and decodes a server's messages (during the proxy's handshake with it).
public struct BackendDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = BackendMessage
    private let maximumLength: Int

    public init(maximumLength: Int = 1 << 24) { self.maximumLength = maximumLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let (type, body) = try MessageFraming.next(&buffer, maximumLength: maximumLength) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(try BackendMessage.decode(type: type, body: body)))
        return .continue
    }

    /// At end of input, decodes what is left; when the handler is removed (the proxy stops parsing),
    /// passes any unread bytes on as they are.
    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if !seenEOF { return FrontendDecoder.passOn(context: context, buffer: &buffer) }
        return try decode(context: context, buffer: &buffer)
    }
}
