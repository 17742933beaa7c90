import KilnCore
import Testing
import WorkspaceFiles

@Suite struct WorkspacePathTests {
    @Test(arguments: [
        ("/", "/"), ("/a", "/a"), ("/a/", "/a"), ("/Workspace", "/"), ("/Workspace/Users/x", "/Users/x"),
        ("/WorkspaceX/y", "/WorkspaceX/y"), ("/a b/ü 🔥", "/a b/ü 🔥"),
        ("/Workspace/", "/"), ("/Workspace/a/", "/a"), ("/x/Workspace", "/x/Workspace"), ("/.../a.", "/.../a."), ("/.a/b..", "/.a/b.."),
    ])
    func normalises(raw: String, canonical: String) throws {
        #expect(try WorkspacePath(raw).value == canonical)
    }

    @Test(arguments: [
        "", "a", "a/b", "/a//b", "/a/./b", "/a/../b", "/..", "//", "///", "/a//", "//a", "/Workspace//a", "/.", "/a/.", "/a/../", "/a\u{0}b", "/a\nb",
    ])
    func refuses(raw: String) {
        #expect(throws: KilnError.self) { try WorkspacePath(raw) }
    }

    @Test func refusesOverLongPathsAndNames() {
        #expect(throws: KilnError.self) { try WorkspacePath("/" + String(repeating: "a/", count: 2100)) }
        #expect(throws: KilnError.self) { try WorkspacePath("/" + String(repeating: "n", count: 256)) }
    }

    @Test func parentsNamesAndExtensions() throws {
        let path = try WorkspacePath("/Users/me/job.tar.gz")
        #expect(path.parent.value == "/Users/me")
        #expect(path.name == "job.tar.gz")
        #expect(path.fileExtension == "gz")
        #expect(path.removingExtension.value == "/Users/me/job.tar")
        #expect(try WorkspacePath("/.hidden").fileExtension == nil)
        #expect(try WorkspacePath("/a").parent.isRoot)
        #expect(try WorkspacePath("/a/b/c").lineage.map(\.value) == ["/a", "/a/b", "/a/b/c"])
        #expect(try WorkspacePath("/a").lineage.map(\.value) == ["/a"])
        #expect(try WorkspacePath("/").lineage.isEmpty)
        #expect(
            try WorkspacePath("/Users/me@example.com/a long folder/ü.py").lineage.map(\.value) == [
                "/Users", "/Users/me@example.com", "/Users/me@example.com/a long folder", "/Users/me@example.com/a long folder/ü.py",
            ])
        #expect(try WorkspacePath("/ü/日本.py").removingExtension.value == "/ü/日本")
    }

    /// A slash is a slash even when a combining mark follows it (as `Character`s the two are one grapheme):
    /// components are split at the byte, as clients and the store see the path.
    @Test func aCombiningMarkAfterASlashDoesNotHideIt() throws {
        let path = try WorkspacePath("/a/\u{301}b.\u{301}py")
        #expect(path.parent.value == "/a")
        #expect(path.name == "\u{301}b.\u{301}py")
        #expect(path.fileExtension == "\u{301}py")
        #expect(path.lineage.map(\.value) == ["/a", "/a/\u{301}b.\u{301}py"])
        #expect(throws: KilnError.self) { try WorkspacePath("/a/\u{301}/..") }
    }
}
