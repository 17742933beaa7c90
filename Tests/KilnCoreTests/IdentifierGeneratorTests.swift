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

    /// Many at once (a notebook's cell ids): each a version-4 UUID with RFC 4122's variant, all different.
    @Test func uuidsDrawnTogetherAreDistinctVersionFourUUIDs() {
        let uuids = IdentifierGenerator.uuids(200)
        #expect(uuids.count == 200)
        #expect(Set(uuids).count == 200)
        for uuid in uuids {
            let parts = uuid.split(separator: "-")
            #expect(parts.map(\.count) == [8, 4, 4, 4, 12])
            #expect(parts[2].first == "4")
            #expect("89ab".contains(parts[3].first!))
            #expect(uuid.allSatisfy { "0123456789abcdef-".contains($0) })
        }
        #expect(IdentifierGenerator.uuids(0).isEmpty)
    }

    /// A named UUID is the first 16 bytes of the name's SHA-256 with version 8 and RFC 4122's variant
    /// (the value computed apart, with Python's hashlib).
    @Test func namedUUIDsAreTheNamesHashAsVersionEight() {
        #expect(IdentifierGenerator.uuid(named: "notebook:42") == "0258db6f-ed8c-872d-a70c-9be52f718310")
    }

    @Test func randomBytesFillTheWholeCount() {
        let bytes = RandomSecret.bytes(4096)
        #expect(bytes.count == 4096)
        // A run of 64 zero bytes at the end would mean the buffer was not filled to the end.
        #expect(bytes.suffix(64).contains { $0 != 0 })
        #expect(Set(bytes).count > 200)
        #expect(RandomSecret.bytes(0).isEmpty)
    }

    @Test func errorsDescribeThemselves() {
        #expect(KilnError.missingField("path").description == "INVALID_PARAMETER_VALUE: Missing required field: path")
    }
}
