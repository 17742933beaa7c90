import Foundation
import KilnCore
import NIOCore

/// A `multipart/form-data` body split into its parts (RFC 7578), byte-exact for file parts.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        /// The part's bytes: a slice of the body, not a copy.
        var data: ByteBuffer
    }

    var parts: [Part]

    /// The boundary of a `multipart/form-data` Content-Type, if it is one.
    static func boundary(fromContentType contentType: String) -> String? {
        let pieces = contentType.utf8.split(separator: UInt8(ascii: ";")).map { OptionalWhitespace.trimmed(Substring($0)) }
        guard let type = pieces.first, type.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            var value = piece.dropFirst("boundary=".count)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// Splits `body`, found by the positions of its delimiters; each part's data is a slice of `body`.
    init(body: ByteBuffer, boundary: String) throws(KilnError) {
        let delimiter = Array("--\(boundary)".utf8)
        let malformed = KilnError(.malformedRequest, "The multipart/form-data body is malformed.")
        // Each part as its name, file name and the range of its bytes in the body.
        let found = body.withUnsafeReadableBytes { bytes -> [(String, String?, Range<Int>)]? in
            guard var position = Self.find(delimiter, in: bytes, from: 0) else { return nil }
            var parts: [(String, String?, Range<Int>)] = []
            while true {
                position += delimiter.count
                if bytes[position...].starts(with: Array("--".utf8)) { break } // closing delimiter
                guard bytes[position...].starts(with: Array("\r\n".utf8)) else { return nil }
                position += 2
                guard let headerEnd = Self.find(Array("\r\n\r\n".utf8), in: bytes, from: position) else { return nil }
                let headerText = String(decoding: bytes[position..<headerEnd], as: UTF8.self)
                let contentStart = headerEnd + 4
                guard let next = Self.find(Array("\r\n".utf8) + delimiter, in: bytes, from: contentStart),
                    let (name, filename) = Self.disposition(headerText)
                else { return nil }
                parts.append((name, filename, contentStart..<next))
                position = next + 2
            }
            return parts
        }
        guard let found else { throw malformed }
        parts = found.map { name, filename, range in
            Part(name: name, filename: filename, data: body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)!)
        }
    }

    private static func disposition(_ headers: String) -> (String, String?)? {
        for line in headers.components(separatedBy: "\r\n")
        where line.lowercased().hasPrefix("content-disposition:") {
            var name: String?
            var filename: String?
            for item in line.utf8.split(separator: UInt8(ascii: ";")).dropFirst().map(Substring.init) {
                let pair = OptionalWhitespace.trimmed(item)
                guard let equals = pair.firstIndex(of: "=") else { continue }
                let key = pair[..<equals].lowercased()
                var value = pair[pair.index(after: equals)...]
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                if key == "name" { name = String(value) }
                if key == "filename" { filename = String(value) }
            }
            return name.map { ($0, filename) }
        }
        return nil
    }

    /// The offset of the first `needle` in `haystack` at or after `start`.
    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= haystack.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            guard let candidate = haystack[index...last].firstIndex(of: first) else { return nil }
            if haystack[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }
}
