import Foundation
import KilnCore
import Testing

/// JSONWriter writes what JSONEncoder writes for the same members, in the order written. (Control characters
/// without a short escape are the exception: JSONWriter writes their hex in upper case, as Jackson does.)
@Suite struct JSONWriterTests {
    private struct Member: Encodable {
        var text: String?
        var number: Int64?
    }

    private func encoded(_ member: Member) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(member), as: UTF8.self)
    }

    private func written(_ member: Member) -> String {
        var json = JSONWriter()
        json.beginObject()
        json.member("number", member.number)
        json.member("text", member.text)
        json.endObject()
        return String(decoding: json.bytes, as: UTF8.self)
    }

    @Test(arguments: [0, 7, -1, 9, 10, 99, 100, 101, 909, 1000, 12_345, 1_796_187_408_001, Int64.max, Int64.min])
    func numbersAreWrittenAsTheEncoderWritesThem(_ number: Int64) throws {
        #expect(written(Member(number: number)) == (try encoded(Member(number: number))))
        var json = JSONWriter()
        json.beginObject()
        json.member("id", quoting: number)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"id":"\#(number)"}"#)
    }

    @Test(arguments: ["", "/Users/a@b.com/nb.py", "quote \" and \\ back", "line\nfeed\ttab\u{1}", "été ✓ \u{1F525}"])
    func stringsAreEscapedAsTheEncoderEscapesThem(_ text: String) throws {
        let value = Member(text: text, number: nil)
        #expect(written(value) == (try encoded(value)))
        // And the result reads back as the same string.
        let object = try JSONSerialization.jsonObject(with: Data(written(value).utf8)) as? [String: String]
        #expect(object?["text"] == text)
    }

    @Test func nilMembersAreLeftOut() {
        #expect(written(Member()) == "{}")
    }
}
