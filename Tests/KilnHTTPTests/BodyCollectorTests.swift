import NIOCore
import Testing
@testable import KilnHTTP

@Suite struct BodyCollectorTests {
    static func sameStorage(_ one: ByteBuffer, _ other: ByteBuffer) -> Bool {
        one.withVeryUnsafeBytes { first in other.withVeryUnsafeBytes { $0.baseAddress == first.baseAddress } }
    }

    /// Appends each of `parts` to `collector`; whether each was kept.
    static func append(_ parts: [String], to collector: inout BodyCollector) -> [Bool] {
        parts.map { collector.append(ByteBuffer(string: $0)) }
    }

    /// A body in one part is that part, not a copy.
    @Test func aFirstPartIsKeptAsItIs() {
        var collector = BodyCollector(declaredLength: 11, limit: 11)
        let whole = ByteBuffer(string: "hello world")
        let kept = collector.append(whole)
        #expect(kept)
        #expect(collector.body == whole)
        #expect(Self.sameStorage(collector.body, whole))
    }

    /// A second part makes room for all the body declares, so that the third is not a copy of the body again.
    @Test func laterPartsAreJoinedInRoomForTheDeclaredLength() {
        var collector = BodyCollector(declaredLength: 100_000, limit: 200_000)
        let first = Self.append(["hello", " "], to: &collector)
        #expect(first == [true, true])
        #expect(collector.body.capacity >= 100_000)
        let joined = collector.body.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let last = Self.append(["world"], to: &collector)
        #expect(last == [true])
        #expect(collector.body.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == joined)
        #expect(String(buffer: collector.body) == "hello world")
    }

    /// A declared length reserves at most 1 MiB before the bytes come (a client may declare more than it sends).
    @Test func aDeclaredLengthReservesAtMostOneMebibyte() {
        var collector = BodyCollector(declaredLength: 10 << 20, limit: 10 << 20)
        let kept = Self.append(["a", "b"], to: &collector)
        #expect(kept == [true, true])
        #expect(collector.body.capacity >= BodyCollector.reservedAtMost)
        #expect(collector.body.capacity < 2 * BodyCollector.reservedAtMost)
    }

    /// Over the limit, the bytes are dropped and every later part is refused.
    @Test func aBodyOverItsLimitKeepsNothing() {
        var collector = BodyCollector(declaredLength: 0, limit: 10)
        let kept = Self.append(["hello", " world", "!"], to: &collector)
        #expect(kept == [true, false, false])
        #expect(collector.overflowed)
        #expect(collector.body.readableBytes == 0)
    }
}
