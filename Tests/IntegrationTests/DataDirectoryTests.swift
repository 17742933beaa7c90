#if canImport(Glibc)
    import Glibc
#endif
import Compute
import Foundation
import Testing

/// Branch copies against real postgres and a real (small) file system.
@Suite(.serialized) struct DataDirectoryTests {
    @Test func aCopyOfARunningServerHasItsDataAndIsIsolated() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let parent = try await fixture.newServer("parent")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(parent)
            _ = try await fixture.query(parent, "CREATE TABLE t AS SELECT 'before' AS v")
            let child = ServerSpec(id: "child", dataDirectory: fixture.root + "/data/child", port: fixture.freePort(), settings: [:])
            try await fixture.directories.copy(runningServerPort: parent.port, dataDirectory: parent.dataDirectory, to: child.dataDirectory)
            #expect(!FileManager.default.fileExists(atPath: child.dataDirectory + ".partial"))
            try await supervisor.start(child)
            _ = try await fixture.query(child, "UPDATE t SET v = 'child' RETURNING v")
            #expect(try await fixture.query(child, "SELECT v FROM t") == ["child"])
            #expect(try await fixture.query(parent, "SELECT v FROM t") == ["before"])
        }
    }

    @Test func aCopyOfAStoppedServerStarts() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let parent = try await fixture.newServer("parent")
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(parent)
            _ = try await fixture.query(parent, "CREATE TABLE t AS SELECT 'kept' AS v")
            await supervisor.stop(id: "parent")
            let child = ServerSpec(id: "child", dataDirectory: fixture.root + "/data/child", port: fixture.freePort(), settings: [:])
            try await fixture.directories.copy(stoppedDirectory: parent.dataDirectory, to: child.dataDirectory)
            try await supervisor.start(child)
            #expect(try await fixture.query(child, "SELECT v FROM t") == ["kept"])
        }
    }

    /// A base image of a stopped branch holds every commit made before the stop, so its time is the stop's
    /// (its `pg_control`), not the caller's `now` when the compute stopped after it (a suspension the caller
    /// waited for): otherwise a moment between the two would be recovered from it with a later commit in it.
    @Test func aBaseImageOfAStoppedBranchIsNotOlderThanItsLastCommit() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let branch = try await fixture.newServer("branch")
        let history = BranchHistory(dataDirectory: branch.dataDirectory)
        try fixture.directories.keepHistory(history)
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        try await withSupervisor(fixture) { supervisor in
            try await supervisor.start(branch)
            _ = try await fixture.query(branch, "CREATE TABLE t AS SELECT 'late' AS v")
            let committed = Int64((Date().timeIntervalSince1970 * 1000).rounded(.up))
            await supervisor.stop(id: "branch")
            let base = try await fixture.directories.takeBase(history, runningServerPort: nil, now: before)
            #expect(base.time >= committed)
            #expect(base.time <= Int64((Date().timeIntervalSince1970 * 1000).rounded(.up)))
        }
    }

    /// A branch copied onto a file system too small for it: the copy fails and leaves nothing behind.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aDiskThatFillsDuringACopyLeavesNoPartialBranch() async throws {
        let fixture = try ComputeFixture()
        defer { fixture.remove() }
        let parent = try await fixture.newServer("parent")
        let disk = fixture.root + "/small-disk"
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", disk]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "cannot mount a tmpfs here")
        defer { umount2(disk, Int32(MNT_DETACH)) }
        let branch = disk + "/branches/child"
        let error = await #expect(throws: ComputeError.self) {
            try await fixture.directories.copy(stoppedDirectory: parent.dataDirectory, to: branch)
        }
        #expect(error?.description.contains("No space left") == true)
        #expect(!FileManager.default.fileExists(atPath: branch))
        #expect(!FileManager.default.fileExists(atPath: branch + ".partial"))
        #expect(!fixture.directories.exists(branch))
    }
}
