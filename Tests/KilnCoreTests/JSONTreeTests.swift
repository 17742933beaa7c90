import KilnCore
import Testing

@Suite struct JSONTreeTests {
    private let sample = JSONTree.object([
        .init("name", .string("n")), .init("on", .bool(true)), .init("size", .number("2.5")),
        .init("list", .array([.null])), .init("name", .string("second")),
    ])

    @Test func subscriptFindsTheFirstMemberWithTheKey() {
        #expect(sample["name"] == .string("n"))
        #expect(sample["missing"] == nil)
        #expect(JSONTree.array([.string("name")])["name"] == nil)
        #expect(JSONTree.string("name")["name"] == nil)
    }

    @Test func typedAccessorsAnswerOnlyForTheirKind() {
        #expect(sample["name"]?.stringValue == "n")
        #expect(sample["on"]?.boolValue == true)
        #expect(sample["size"]?.doubleValue == 2.5)
        #expect(sample["list"]?.arrayValue == [.null])
        let others: [JSONTree] = [.null, .bool(false), .number("1"), .string("1"), .array([]), .object([])]
        #expect(others.compactMap(\.stringValue) == ["1"])
        #expect(others.compactMap(\.boolValue) == [false])
        #expect(others.compactMap(\.doubleValue) == [1])
        #expect(others.compactMap(\.arrayValue) == [[]])
        #expect(others.map(\.isNull) == [true, false, false, false, false, false])
        #expect(others.map(\.isObject) == [false, false, false, false, false, true])
    }

    @Test func setReplacesTheFirstMemberInPlace() {
        var tree = sample
        tree.set("name", .string("renamed"))
        #expect(
            tree
                == .object([
                    .init("name", .string("renamed")), .init("on", .bool(true)), .init("size", .number("2.5")),
                    .init("list", .array([.null])), .init("name", .string("second")),
                ]))
    }

    @Test func setAppendsANewMember() {
        var tree = JSONTree.object([.init("a", .null)])
        tree.set("b", .integer(1))
        tree.set("a", .bool(false))
        #expect(tree == .object([.init("a", .bool(false)), .init("b", .number("1"))]))
    }

    @Test func setLeavesNonObjectsAlone() {
        for original: JSONTree in [.null, .array([]), .string("x"), .number("1")] {
            var tree = original
            tree.set("a", .null)
            #expect(tree == original)
        }
    }

    @Test func equalityComparesNumberTextAndMemberOrder() {
        #expect(JSONTree.number("1.0") != .number("1"))
        #expect(JSONTree.object([.init("a", .null), .init("b", .null)]) != .object([.init("b", .null), .init("a", .null)]))
        #expect(JSONTree.object([.init("a", .null)]) == .object([.init("a", .null)]))
    }

    @Test func integersAreWrittenInFull() {
        #expect(JSONTree.integer(0) == .number("0"))
        #expect(JSONTree.integer(-42) == .number("-42"))
        #expect(JSONTree.integer(.max) == .number("9223372036854775807"))
        #expect(JSONTree.integer(.min) == .number("-9223372036854775808"))
    }

    @Test(arguments: [
        (1.0, "1.0"), (0.0, "0.0"), (-0.0, "-0.0"), (2.5, "2.5"), (-3.0, "-3.0"), (0.001, "0.001"),
        (123.456, "123.456"), (9_999_999.0, "9999999.0"), (10_000_000.0, "1.0E7"), (110_017_465.0, "1.10017465E8"),
        (29_932_496.0, "2.9932496E7"), (0.0001, "1.0E-4"), (0.000_123_4, "1.234E-4"), (-2.5e-10, "-2.5E-10"),
        (1.5e300, "1.5E300"), (1e16, "1.0E16"), (12_345_678.0, "1.2345678E7"),
    ])
    func doublesAreWrittenAsJavaDoes(value: Double, expected: String) {
        #expect(JavaDouble.string(value) == expected)
        #expect(JSONTree.double(value) == .number(expected))
    }

    @Test func nonFiniteDoublesBecomeNull() {
        #expect(JavaDouble.string(.nan) == "null")
        #expect(JavaDouble.string(.infinity) == "null")
        #expect(JavaDouble.string(-.infinity) == "null")
    }

    @Test func javaDoublesReadBackToTheSameValue() {
        for value in [0.1, 1.0 / 3.0, 6.02214076e23, -1.602176634e-19, 5e-324, .greatestFiniteMagnitude, 4_503_599_627_370_497.0] {
            #expect(JSONTree.double(value).doubleValue == value)
        }
    }
}
