import Testing
@testable import KilnCore

@Suite struct VerifiedPasswordsTests {
    @Test func onlyAnInsertedCheckIsRemembered() {
        let cache = VerifiedPasswords()
        #expect(!cache.contains(storedHash: "hash-1", password: "secret"))
        cache.insert(storedHash: "hash-1", password: "secret")
        #expect(cache.contains(storedHash: "hash-1", password: "secret"))
        #expect(cache.contains(storedHash: "hash-1", password: "secret"), "a hit does not use the entry up")
    }

    @Test func anotherPasswordOrStoredHashMisses() {
        let cache = VerifiedPasswords()
        cache.insert(storedHash: "hash-1", password: "secret")
        #expect(!cache.contains(storedHash: "hash-1", password: "Secret"))
        #expect(!cache.contains(storedHash: "hash-1", password: "secret "))
        #expect(!cache.contains(storedHash: "hash-2", password: "secret"), "a changed password has a new stored hash")
    }

    @Test func theHashAndPasswordCannotBeShiftedIntoEachOther() {
        let cache = VerifiedPasswords()
        cache.insert(storedHash: "ab", password: "c")
        #expect(!cache.contains(storedHash: "a", password: "bc"))
        #expect(!cache.contains(storedHash: "abc", password: ""))
    }

    @Test func instancesDoNotShareEntries() {
        let first = VerifiedPasswords()
        first.insert(storedHash: "h", password: "p")
        #expect(!VerifiedPasswords().contains(storedHash: "h", password: "p"))
    }

    @Test func aFullCacheStartsAfresh() {
        let cache = VerifiedPasswords()
        for index in 0..<4096 { cache.insert(storedHash: "hash", password: "password-\(index)") }
        #expect(cache.contains(storedHash: "hash", password: "password-0"))
        #expect(cache.contains(storedHash: "hash", password: "password-4095"))
        cache.insert(storedHash: "hash", password: "one-more")
        #expect(!cache.contains(storedHash: "hash", password: "password-0"))
        #expect(!cache.contains(storedHash: "hash", password: "password-4095"))
        #expect(cache.contains(storedHash: "hash", password: "one-more"))
    }

    @Test func concurrentUseIsSafe() async {
        let cache = VerifiedPasswords()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<32 {
                group.addTask {
                    cache.insert(storedHash: "h\(index)", password: "p")
                    _ = cache.contains(storedHash: "h\(index - 1)", password: "p")
                }
            }
        }
        #expect((0..<32).allSatisfy { cache.contains(storedHash: "h\($0)", password: "p") })
    }
}
