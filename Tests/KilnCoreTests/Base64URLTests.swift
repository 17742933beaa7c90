import Foundation
import KilnCore
import Testing

@Suite struct Base64URLTests {
    @Test func usesTheURLAlphabetWithoutPadding() {
        // Standard base64 of these bytes is "+/8=" and "+++/".
        #expect(Base64URL.encode(Data([0xFB, 0xFF])) == "-_8")
        #expect(Base64URL.encode(Data([0xFB, 0xEF, 0xBF])) == "---_")
        #expect(Base64URL.encode(Data("hello?".utf8)) == "aGVsbG8_")
    }

    @Test(arguments: [(0, ""), (1, "AA"), (2, "AAA"), (3, "AAAA"), (4, "AAAAAA")])
    func lengthsNeedNoPadding(count: Int, expected: String) {
        #expect(Base64URL.encode(Data(repeating: 0, count: count)) == expected)
        #expect(Base64URL.decode(expected) == Data(repeating: 0, count: count))
    }

    @Test func decodeUndoesEncodeForEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for count in 0..<70 {
            let data = Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let text = Base64URL.encode(data)
            #expect(!text.contains("+") && !text.contains("/") && !text.contains("="))
            #expect(Base64URL.decode(text) == data)
        }
    }

    @Test func decodeAcceptsPaddedInput() {
        #expect(Base64URL.decode("-_8=") == Data([0xFB, 0xFF]))
    }

    @Test(arguments: ["A", "AAAAA", "a!b", "ab cd", "é"])
    func decodeRefusesWhatIsNotBase64URL(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
