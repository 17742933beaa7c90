/// A SCIM 2.0 `filter` (RFC 7644 §3.4.2.2) as Databricks' SCIM lists take it: `attrPath op value`
/// comparisons (`eq ne co sw ew gt ge lt le`, and `pr`), joined by `and` / `or`, negated by `not (…)`,
/// grouped by parentheses. Operators and logical words are case-insensitive, and so are string
/// comparisons (SCIM's `caseExact` is false for the attributes Kiln serves).
///
/// `parse` throws `SCIMFilter.Invalid` for text it cannot read; the HTTP edge answers 400 with SCIM's
/// `invalidFilter` error, never every resource.
public indirect enum SCIMFilter: Sendable, Equatable {
    /// `attribute op value`, for example `userName eq "a@b.com"`.
    case compare(attribute: String, op: Operator, value: Value)
    /// `attribute pr`: the attribute has a non-empty value.
    case present(attribute: String)
    /// Both filters match.
    case and(SCIMFilter, SCIMFilter)
    /// Either filter matches.
    case or(SCIMFilter, SCIMFilter)
    /// `not (filter)`.
    case not(SCIMFilter)

    /// RFC 7644's comparison operators: equal, not equal, contains, starts with, ends with, and the orderings.
    public enum Operator: String, Sendable, CaseIterable {
        case eq, ne, co, sw, ew, gt, ge, lt, le
    }

    /// A comparison value: a JSON string, number, boolean or null.
    public enum Value: Sendable, Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    /// Why a filter could not be read; `message` is the SCIM error's `detail`.
    public struct Invalid: Error, Sendable, Equatable {
        /// What is wrong, for the SCIM error's `detail`.
        public var message: String
    }

    /// Parses a filter; throws `Invalid` for anything that is not one.
    public static func parse(_ text: String) throws(Invalid) -> SCIMFilter {
        var parser = Parser(tokens: try tokenize(text))
        let filter = try parser.orExpression()
        guard parser.atEnd else { throw Invalid(message: "Unexpected '\(parser.peek!)' in filter: \(text)") }
        return filter
    }

    /// Whether a resource matches. `attributes` gives each attribute path (lower case, as `emails.value`)
    /// its values; a multi-valued attribute matches when any value does.
    public func matches(_ attributes: [String: [Value]]) -> Bool {
        switch self {
        case .and(let left, let right): left.matches(attributes) && right.matches(attributes)
        case .or(let left, let right): left.matches(attributes) || right.matches(attributes)
        case .not(let inner): !inner.matches(attributes)
        case .present(let attribute):
            (attributes[Self.key(attribute)] ?? []).contains { $0 != .null && $0 != .string("") }
        case .compare(let attribute, let op, let value):
            (attributes[Self.key(attribute)] ?? []).contains { Self.compare($0, op, value) }
        }
    }

    /// `emails.value` of `Emails.Value` or `urn:ietf:params:scim:schemas:core:2.0:User:emails.value`.
    private static func key(_ attribute: String) -> String {
        (attribute.split(separator: ":").last.map(String.init) ?? attribute).lowercased()
    }

    private static func compare(_ actual: Value, _ op: Operator, _ wanted: Value) -> Bool {
        switch (actual, wanted, op) {
        case (.string(let a), .string(let b), .co): a.lowercased().contains(b.lowercased())
        case (.string(let a), .string(let b), .sw): a.lowercased().hasPrefix(b.lowercased())
        case (.string(let a), .string(let b), .ew): a.lowercased().hasSuffix(b.lowercased())
        case (.string(let a), .string(let b), _): ordered(a.lowercased(), op, b.lowercased())
        case (.number(let a), .number(let b), _): ordered(a, op, b)
        case (_, _, .eq): actual == wanted
        case (_, _, .ne): actual != wanted
        default: false
        }
    }

    /// `a op b` for the equality and ordering operators; the substring ones never hold here.
    private static func ordered<T: Comparable>(_ a: T, _ op: Operator, _ b: T) -> Bool {
        switch op {
        case .eq: a == b
        case .ne: a != b
        case .gt: a > b
        case .ge: a >= b
        case .lt: a < b
        case .le: a <= b
        case .co, .sw, .ew: false
        }
    }

    // MARK: Reading

    enum Token: Equatable, CustomStringConvertible {
        case word(String)
        case string(String)
        case open
        case close

        var description: String {
            switch self {
            case .word(let word): word
            case .string(let text): "\"\(text)\""
            case .open: "("
            case .close: ")"
            }
        }
    }

    static func tokenize(_ text: String) throws(Invalid) -> [Token] {
        var tokens: [Token] = []
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character == "(" || character == ")" {
                tokens.append(character == "(" ? .open : .close)
                index += 1
            } else if character == "\"" {
                var value = ""
                index += 1
                var closed = false
                while index < characters.count {
                    let next = characters[index]
                    index += 1
                    if next == "\"" {
                        closed = true
                        break
                    }
                    if next == "\\", index < characters.count {
                        let escaped = characters[index]
                        index += 1
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        default: value.append(escaped)
                        }
                    } else {
                        value.append(next)
                    }
                }
                guard closed else { throw Invalid(message: "Unterminated string in filter: \(text)") }
                tokens.append(.string(value))
            } else {
                var word = ""
                while index < characters.count, !characters[index].isWhitespace, !"()\"".contains(characters[index]) {
                    word.append(characters[index])
                    index += 1
                }
                tokens.append(.word(word))
            }
        }
        guard !tokens.isEmpty else { throw Invalid(message: "The filter is empty.") }
        return tokens
    }

    struct Parser {
        /// The deepest nesting of `(` and `not` read; deeper filters are refused, not recursed into.
        static let maximumDepth = 32

        var tokens: [Token]
        var position = 0
        var depth = 0

        var atEnd: Bool { position == tokens.count }
        var peek: Token? { atEnd ? nil : tokens[position] }

        mutating func next() -> Token? {
            defer { position += 1 }
            return peek
        }

        func isWord(_ word: String) -> Bool {
            if case .word(let text)? = peek { return text.lowercased() == word }
            return false
        }

        mutating func orExpression() throws(Invalid) -> SCIMFilter {
            var filter = try andExpression()
            while isWord("or") {
                position += 1
                filter = .or(filter, try andExpression())
            }
            return filter
        }

        mutating func andExpression() throws(Invalid) -> SCIMFilter {
            var filter = try term()
            while isWord("and") {
                position += 1
                filter = .and(filter, try term())
            }
            return filter
        }

        mutating func term() throws(Invalid) -> SCIMFilter {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else {
                throw Invalid(message: "The filter nests deeper than \(Self.maximumDepth) levels.")
            }
            if isWord("not") {
                position += 1
                guard peek == .open else { throw Invalid(message: "'not' must be followed by a parenthesised filter.") }
                return .not(try term())
            }
            if peek == .open {
                position += 1
                let inner = try orExpression()
                guard next() == .close else { throw Invalid(message: "A '(' in the filter is not closed.") }
                return inner
            }
            guard case .word(let attribute)? = next(), Self.isAttributePath(attribute) else {
                throw Invalid(
                    message:
                        "Expected an attribute name in the filter, found \(tokens.indices.contains(position - 1) ? "'\(tokens[position - 1])'" : "the end").")
            }
            guard case .word(let opText)? = next() else { throw Invalid(message: "Expected an operator after '\(attribute)'.") }
            if opText.lowercased() == "pr" { return .present(attribute: attribute) }
            guard let op = Operator(rawValue: opText.lowercased()) else {
                throw Invalid(message: "Given filter operator is not supported: '\(opText)'.")
            }
            switch next() {
            case .string(let text)?:
                return .compare(attribute: attribute, op: op, value: .string(text))
            case .word(let literal)?:
                switch literal.lowercased() {
                case "true": return .compare(attribute: attribute, op: op, value: .bool(true))
                case "false": return .compare(attribute: attribute, op: op, value: .bool(false))
                case "null": return .compare(attribute: attribute, op: op, value: .null)
                default:
                    guard let number = Double(literal) else {
                        throw Invalid(message: "The value '\(literal)' must be a quoted string, a number, true, false or null.")
                    }
                    return .compare(attribute: attribute, op: op, value: .number(number))
                }
            default:
                throw Invalid(message: "Expected a value after '\(attribute) \(opText)'.")
            }
        }

        /// `userName`, `emails.value`, `urn:…:User:userName`: letters, digits and `.:_-$`, starting with a letter.
        static func isAttributePath(_ text: String) -> Bool {
            guard let first = text.first, first.isLetter else { return false }
            return text.allSatisfy { $0.isLetter || $0.isNumber || ".:_-$".contains($0) }
        }
    }
}
