import HTTPTypes
import Testing

@testable import KilnHTTP

@Suite struct HTTPFieldsValueTests {
    /// `value(_:)` gives what HTTPTypes' own `self[name]` gives: nil, the one value, or the values joined.
    @Test(
        arguments: [
            [],
            [("Accept", "a/b")],
            [("Authorization", "Bearer x"), ("Accept", "a/b")],
            [("Accept", "a/b"), ("Host", "h"), ("accept", "c/d"), ("Accept", "e/f")],
            [("Cookie", "a=1"), ("Accept", "a/b"), ("Cookie", "b=2")],
        ] as [[(String, String)]])
    func matchesTheSubscript(_ pairs: [(String, String)]) throws {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: try #require(HTTPField.Name(name)), value: value)) }
        for name in [HTTPField.Name.accept, .cookie, .authorization, .contentType] {
            #expect(fields.value(name) == fields[name], "\(name)")
        }
    }
}
