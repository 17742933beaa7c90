import KilnCore
import Testing
import WorkspaceFiles

@Suite struct WorkspacePathTests {
    @Test(arguments: [
        ("/", "/"), ("/a", "/a"), ("/a/", "/a"), ("/Workspace", "/"), ("/Workspace/Users/x", "/Users/x"),
        ("/WorkspaceX/y", "/WorkspaceX/y"), ("/a b/ü 🔥", "/a b/ü 🔥"),
    ])
    func normalises(raw: String, canonical: String) throws {
        #expect(try WorkspacePath(raw).value == canonical)
    }

    @Test(arguments: ["", "a", "a/b", "/a//b", "/a/./b", "/a/../b", "/..", "/a\u{0}b", "/a\nb"])
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
    }
}
