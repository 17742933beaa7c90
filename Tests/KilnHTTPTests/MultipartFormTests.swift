import HTTPTypes
import KilnCore
import Testing
@testable import KilnHTTP

@Suite struct MultipartFormTests {
    static let boundary = "02cadd22b213adc2de5e1865b9e64278"

    static func body(_ parts: [(String, String?, [UInt8])]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (name, filename, data) in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\""
            if let filename { header += "; filename=\"\(filename)\"" }
            bytes += Array((header + "\r\n\r\n").utf8) + data + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n".utf8)
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
        #expect(form.parts.first { $0.name == "path" }?.data == Array("/Users/a/f".utf8))
        #expect(form.parts.first { $0.name == "content" }?.filename == "content")
        #expect(form.parts.first { $0.name == "content" }?.data == binary)
    }

    @Test(arguments: ["", "garbage", "--02cadd22b213adc2de5e1865b9e64278\r\nno end"])
    func malformedBodiesAreRefused(text: String) {
        #expect(throws: KilnError.self) { try MultipartForm(body: Array(text.utf8), boundary: Self.boundary) }
    }
}
