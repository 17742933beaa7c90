import KilnCore
import Testing

@Suite struct IdentifierGeneratorTests {
    @Test func numericIdsAreSixteenDigitsAndJavaScriptSafe() {
        for _ in 0..<1000 {
            let id = IdentifierGenerator.next()
            #expect(String(id).count == 16)
            #expect(id < (1 << 53))
        }
    }

    @Test func hexHasTheRequestedLength() {
        let value = IdentifierGenerator.hex(32)
        #expect(value.count == 32)
        #expect(value.allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func uuidsAreVersionFour() {
        let uuid = IdentifierGenerator.uuid()
        let parts = uuid.split(separator: "-").map(\.count)
        #expect(parts == [8, 4, 4, 4, 12])
        #expect(uuid.split(separator: "-")[2].first == "4")
    }

    @Test func errorsDescribeThemselves() {
        #expect(KilnError.missingField("path").description == "INVALID_PARAMETER_VALUE: Missing required field: path")
    }
}
