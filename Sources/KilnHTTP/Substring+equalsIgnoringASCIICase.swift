extension Substring {
    /// Whether this text is `lowercase` with any of its ASCII letters in either case, compared byte by byte
    /// in the text's own storage (an HTTP scheme or host: no lower-cased copy is made, and no
    /// `Substring.UTF8View` indexing, which cost 250 instructions a byte).
    func equalsIgnoringASCIICase(_ lowercase: String) -> Bool {
        guard utf8.count == lowercase.utf8.count else { return false }
        func equal(_ bytes: some Sequence<UInt8>, _ expected: some Sequence<UInt8>) -> Bool {
            for (byte, lower) in zip(bytes, expected) where byte != lower {
                guard byte | 0x20 == lower, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower) else { return false }
            }
            return true
        }
        let result = utf8.withContiguousStorageIfAvailable { bytes in
            lowercase.utf8.withContiguousStorageIfAvailable { expected in equal(bytes, expected) }
        }
        return (result ?? nil) ?? equal(Array(utf8), Array(lowercase.utf8))
    }
}
