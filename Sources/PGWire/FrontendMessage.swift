public import NIOCore

/// What a client sends before the session is handed to the server (the handshake), decoded.
public enum FrontendMessage: Sendable, Equatable {
    /// `SSLRequest` (80877103): the client asks for TLS; the server answers one byte, `S` or `N`.
    case sslRequest
    /// `GSSENCRequest` (80877104): GSSAPI encryption, which Kiln refuses with `N`.
    case gssEncryptionRequest
    /// `CancelRequest` (80877102), on a connection of its own.
    case cancel(CancelKey)
    /// `StartupMessage` (protocol 3.0) with its parameters (`user`, `database`, `options`, …).
    case startup(StartupParameters)
    /// `PasswordMessage` (`p`): a cleartext password, or a SASL response (the same type byte).
    case password(ByteBuffer)
    /// `Terminate` (`X`).
    case terminate
    /// Any other typed message, which the handshake does not expect.
    case other(type: UInt8)
}

/// A `BackendKeyData` pair, which a `CancelRequest` repeats.
public struct CancelKey: Sendable, Hashable {
    public var processID: Int32
    public var secret: Int32

    public init(processID: Int32, secret: Int32) {
        self.processID = processID
        self.secret = secret
    }

    /// A random key (the proxy hands out its own keys and maps them to the server's).
    public static func random() -> CancelKey {
        CancelKey(processID: .random(in: 1...Int32.max), secret: .random(in: .min ... .max))
    }
}

/// The parameters of a `StartupMessage`, in the order the client sent them.
public struct StartupParameters: Sendable, Equatable {
    public var pairs: [(String, String)]

    public init(_ pairs: [(String, String)]) { self.pairs = pairs }

    public subscript(name: String) -> String? {
        pairs.first { $0.0 == name }?.1
    }

    public var user: String? { self["user"] }
    /// The database, which defaults to the user name.
    public var database: String? { self["database"] ?? user }

    /// `options` split into `-c name=value` and `name=value` words (`\ ` escapes a space).
    public var options: [(String, String)] {
        guard let text = self["options"] else { return [] }
        var words: [String] = []
        var word = ""
        var escaped = false
        for character in text {
            if escaped {
                word.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == " " {
                if !word.isEmpty {
                    words.append(word)
                    word = ""
                }
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words.filter { $0 != "-c" }.compactMap { word in
            let body = word.hasPrefix("--") ? String(word.dropFirst(2)) : word.hasPrefix("-c") ? String(word.dropFirst(2)) : word
            guard let equals = body.firstIndex(of: "=") else { return nil }
            return (String(body[..<equals]), String(body[body.index(after: equals)...]))
        }
    }

    /// The same parameters without the `options` words named `removing` (Kiln's routing words).
    public func removingOptions(_ names: Set<String>) -> StartupParameters {
        guard self["options"] != nil else { return self }
        let kept = options.filter { !names.contains($0.0) }
            .map { "-c " + ($0.0 + "=" + $0.1).flatMap { $0 == " " || $0 == "\\" ? ["\\", $0] : [$0] } }
        var pairs = self.pairs.filter { $0.0 != "options" }
        if !kept.isEmpty { pairs.append(("options", kept.joined(separator: " "))) }
        return StartupParameters(pairs)
    }

    public static func == (lhs: StartupParameters, rhs: StartupParameters) -> Bool {
        lhs.pairs.map { [$0.0, $0.1] } == rhs.pairs.map { [$0.0, $0.1] }
    }
}

extension StartupParameters {
    /// The `StartupMessage` bytes (protocol 3.0).
    public func encode(into buffer: inout ByteBuffer) {
        let start = buffer.writerIndex
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(WireConstants.protocolVersion3)
        for (name, value) in pairs {
            buffer.writeNullTerminatedString(name)
            buffer.writeNullTerminatedString(value)
        }
        buffer.writeInteger(UInt8(0))
        buffer.setInteger(Int32(buffer.writerIndex - start), at: start)
    }
}

extension CancelKey {
    /// The `CancelRequest` bytes.
    public func encodeCancelRequest(into buffer: inout ByteBuffer) {
        buffer.writeInteger(Int32(16))
        buffer.writeInteger(WireConstants.cancelRequestCode)
        buffer.writeInteger(processID)
        buffer.writeInteger(secret)
    }
}

/// Numbers of the protocol.
public enum WireConstants {
    public static let protocolVersion3: Int32 = 196_608
    public static let sslRequestCode: Int32 = 80_877_103
    public static let gssEncryptionRequestCode: Int32 = 80_877_104
    public static let cancelRequestCode: Int32 = 80_877_102
}
