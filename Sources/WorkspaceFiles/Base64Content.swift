import Foundation
import ExtrasBase64
public import KilnCore
import NIOCore

/// The `content` of `workspace/import` and `workspace/export` in JSON: base64 (RFC 4648 §4) with padding
/// and no line breaks, as Databricks writes it. Coded by swift-extras-base64 straight into the bytes that
/// keep the result: an import's array, which its readers take as it is, and an export's answer. (Foundation's
/// coder, with the same Chromium tables and the same 5 instructions a byte, gives a `Data` the import copied.)
/// It reads what Foundation's `Data(base64Encoded:)` without options reads, but for padding where RFC 4648
/// puts none ("QUJD=", "===="), which it refuses and Foundation on Linux lets through.
public enum Base64Content {
    /// The bytes `text` encodes. Throws `INVALID_PARAMETER_VALUE` ("The content is not valid base64.") for
    /// text that is not base64 of the standard alphabet: whitespace, line breaks, the URL-safe alphabet, a
    /// length that is not a multiple of four, padding inside the text.
    public static func decode(_ text: String) throws(KilnError) -> [UInt8] {
        do {
            return try Base64.decode(string: text)
        } catch {
            throw invalid
        }
    }

    /// `decode` of text given as its bytes (an import's JSON, where the text was never made a `String`). Bytes
    /// that are not ASCII are not base64 either.
    public static func decode(_ text: some Collection<UInt8>) throws(KilnError) -> [UInt8] {
        do {
            return try Base64.decode(bytes: text)
        } catch {
            throw invalid
        }
    }

    private static let invalid = KilnError.invalidParameter("The content is not valid base64.")

    /// The bytes of the base64 of `count` bytes, padding included.
    static func encodedLength(of count: Int) -> Int {
        Base64.encodedLength(bytesCount: count)
    }

    /// Appends the base64 of `bytes` to `buffer`.
    static func encode(_ bytes: Data, into buffer: inout ByteBuffer) {
        bytes.withUnsafeBytes { input in
            _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: encodedLength(of: bytes.count)) { free in
                var output = free.bindMemory(to: UInt8.self).mutableSpan
                return Base64.encode(bytes: input.bindMemory(to: UInt8.self).span, into: &output)
            }
        }
    }
}
