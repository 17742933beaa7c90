import KilnCore
import Testing

@Suite struct NamedUUIDTests {
    @Test func aNameAlwaysGivesTheSameVersion8UUID() {
        let first = IdentifierGenerator.uuid(named: "notebook:42")
        #expect(first == IdentifierGenerator.uuid(named: "notebook:42"))
        #expect(first != IdentifierGenerator.uuid(named: "notebook:43"))
        let characters = Array(first)
        #expect(characters.count == 36 && characters[14] == "8" && "89ab".contains(characters[19]))
    }
}
