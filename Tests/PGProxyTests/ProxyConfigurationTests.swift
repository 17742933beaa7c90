import NIOCore
import PGWire
import Testing
@testable import PGProxy

/// The proxy's settings and their documented defaults.
@Suite struct ProxyConfigurationTests {
    @Test func defaultsAreThoseDocumented() {
        let configuration = ProxyConfiguration(host: "127.0.0.1", sharedPort: 5432, tls: nil)
        #expect(configuration.host == "127.0.0.1" && configuration.sharedPort == 5432 && configuration.tls == nil)
        #expect(!configuration.requireTLS)
        #expect(configuration.handshakeTimeout == .seconds(10))
        #expect(configuration.maximumMessageLength == 10_000)
    }

    /// The proxy's limit and the decoder's own default agree, so a decoder made either way refuses alike.
    @Test func theDefaultMessageLimitIsTheDecoders() throws {
        let limit = ProxyConfiguration(host: "::", sharedPort: nil, tls: nil).maximumMessageLength
        func startup(length: Int) -> ByteBuffer {
            var buffer = ByteBuffer() // 15 bytes besides the value: length, version, "user\0", "\0", "\0"
            StartupParameters([("user", String(repeating: "a", count: length - 15))]).encode(into: &buffer)
            return buffer
        }
        var atLimit = startup(length: limit)
        #expect(atLimit.readableBytes == limit)
        var decoder = FrontendDecoder()
        #expect(try decoder.next(&atLimit) != nil)
        var overLimit = startup(length: limit + 1)
        var fresh = FrontendDecoder()
        #expect(throws: WireError("invalid length of startup packet: \(limit + 1)")) { try fresh.next(&overLimit) }
    }

    @Test func everySettingCanBeGiven() {
        let configuration = ProxyConfiguration(
            host: "0.0.0.0", sharedPort: nil, tls: nil, requireTLS: true,
            handshakeTimeout: .milliseconds(250), maximumMessageLength: 512)
        #expect(configuration.sharedPort == nil && configuration.requireTLS)
        #expect(configuration.handshakeTimeout == .milliseconds(250) && configuration.maximumMessageLength == 512)
    }
}
