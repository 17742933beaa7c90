import HTTPTypes
import KilnCore
import NIOCore
import Testing
@testable import KilnHTTP

@Suite struct MultipartFormTests {
    static let boundary = "02cadd22b213adc2de5e1865b9e64278"

    static func body(_ parts: [(String, String?, [UInt8])]) -> ByteBuffer {
        var bytes: [UInt8] = []
        for (name, filename, data) in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\""
            if let filename { header += "; filename=\"\(filename)\"" }
            bytes += Array((header + "\r\n\r\n").utf8) + data + Array("\r\n".utf8)
        }
        return ByteBuffer(bytes: bytes + Array("--\(boundary)--\r\n".utf8))
    }

    @Test func boundaryFromContentType() {
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data; boundary=\"q r\"") == "q r")
        #expect(MultipartForm.boundary(fromContentType: "application/json") == nil)
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data") == nil)
        // Spaces and tabs around each piece are HTTP's optional whitespace.
        #expect(MultipartForm.boundary(fromContentType: " Multipart/Form-Data ;\tboundary=abc\t ") == "abc")
        #expect(MultipartForm.boundary(fromContentType: "multipart/form-data; boundary= ") == nil)
        #expect(MultipartForm.boundary(fromContentType: " \t ") == nil)
    }

    @Test func splitsFieldsAndKeepsBinaryFilesExact() throws {
        let binary: [UInt8] = [0, 1, 0xFF, 13, 10, 45, 45] + Array("--\(Self.boundary)x".utf8)
        let form = try MultipartForm(
            body: Self.body([("path", nil, Array("/Users/a/f".utf8)), ("content", "content", binary)]),
            boundary: Self.boundary)
        #expect(form.parts.first { $0.name == "path" }?.data == ByteBuffer(string: "/Users/a/f"))
        #expect(form.parts.first { $0.name == "content" }?.filename == "content")
        #expect(form.parts.first { $0.name == "content" }?.data == ByteBuffer(bytes: binary))
    }

    /// A part's data is a slice of the body, not a copy: an uploaded file of megabytes is copied once, into
    /// the import's content.
    @Test func partsAreSlicesOfTheBody() throws {
        let body = Self.body([("content", "content", Array(repeating: 7, count: 1000))])
        let form = try MultipartForm(body: body, boundary: Self.boundary)
        let data = try #require(form.parts.first?.data)
        let bodyStart = body.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let dataStart = data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(dataStart > bodyStart && dataStart < bodyStart + UInt(body.readableBytes))
        #expect(data.readableBytes == 1000)
    }

    @Test(arguments: ["", "garbage", "--02cadd22b213adc2de5e1865b9e64278\r\nno end"])
    func malformedBodiesAreRefused(text: String) {
        #expect(throws: KilnError.self) { try MultipartForm(body: ByteBuffer(string: text), boundary: Self.boundary) }
    }
}
