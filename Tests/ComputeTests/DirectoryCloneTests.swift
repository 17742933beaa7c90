#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Testing

@testable import Compute

/// `DirectoryClone` on real files: what a branch copy keeps and leaves out, and (as root, with
/// xfsprogs) reflink clones on Kiln's copy-on-write volume.
@Suite(.serialized) struct DirectoryCloneTests {
    let root = NSTemporaryDirectory() + "kiln-clone-\(UUID().uuidString.prefix(8))"

    private func write(_ path: String, _ text: String, mode: mode_t = 0o600) throws {
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    private func mode(_ path: String) -> mode_t {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func keepsDataModesAndLinksAndLeavesOutWhatPgBasebackupDoes() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = root + "/source"
        try write(source + "/PG_VERSION", "17\n")
        try write(source + "/base/5/16384", String(repeating: "x", count: 100_000))
        try write(source + "/global/pg_control", "control", mode: 0o640)
        try write(source + "/postmaster.pid", "123")
        try write(source + "/base/5/pg_internal.init", "cache")
        try write(source + "/base/pgsql_tmp/pgsql_tmp1.0", "spill")
        try write(source + "/pg_replslot/standby/state", "slot")
        try write(source + "/pg_wal/000000010000000000000001", "wal")
        mkdir(source + "/pg_wal/archive_status", 0o700)
        try FileManager.default.createSymbolicLink(atPath: source + "/pg_tblspc_link", withDestinationPath: "/elsewhere")

        var clone = DirectoryClone(alsoEmptied: ["pg_wal"])
        try clone.copy(source, to: root + "/copy")
        let copy = root + "/copy"
        #expect(try String(contentsOfFile: copy + "/base/5/16384", encoding: .utf8).count == 100_000)
        #expect(mode(copy + "/global/pg_control") == 0o640)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: copy + "/pg_tblspc_link") == "/elsewhere")
        for left in ["/postmaster.pid", "/base/5/pg_internal.init", "/base/pgsql_tmp", "/pg_replslot/standby", "/pg_wal/000000010000000000000001"] {
            #expect(!FileManager.default.fileExists(atPath: copy + left), "\(left) is copied")
        }
        #expect(FileManager.default.fileExists(atPath: copy + "/pg_replslot"))
        #expect(FileManager.default.fileExists(atPath: copy + "/pg_wal"))
        #expect(clone.cloned + clone.copied == 3)

        try write(source + "/pg_wal/000000010000000000000001", "wal, longer now")
        try clone.copyFiles(of: source + "/pg_wal", to: copy + "/pg_wal")
        #expect(try String(contentsOfFile: copy + "/pg_wal/000000010000000000000001", encoding: .utf8) == "wal, longer now")
    }

    @Test func aTreesSizeCountsItsRegularFilesOnce() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(root + "/a/PG_VERSION", "17\n")
        try write(root + "/a/base/1/1259", String(repeating: "x", count: 8192))
        try write(root + "/outside", String(repeating: "y", count: 1000))
        symlink(root + "/outside", root + "/a/link")
        #expect(DirectoryClone.bytes(under: root + "/a") == 3 + 8192)
        #expect(DirectoryClone.bytes(under: root + "/missing") == 0)
    }

    @Test func mountinfoEscapesAreRead() {
        #expect(StorageVolume.unescape(#"/tmp/a\040b\134c"#) == #"/tmp/a b\c"#)
        #expect(StorageVolume.unescape("/plain") == "/plain")
    }

    /// The volume Kiln makes (`KILN_STORAGE_VOLUME=xfs`): files cloned there share their blocks, so
    /// the disk in use hardly grows; unmounting leaves nothing mounted.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.xfs"), "needs root and xfsprogs"))
    func clonesOnTheCopyOnWriteVolumeShareBlocks() async throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let volume = StorageVolume(image: root + "/storage.xfs", mountPoint: root + "/storage", size: 1 << 30)
        _ = try await volume.mount()
        #expect(volume.isMounted)
        #expect(StorageVolume.hasReflinks(volume.mountPoint))
        #expect(try await volume.mount().contains("still mounted"))
        do {
            try write(volume.mountPoint + "/source/base/1/big", String(repeating: "y", count: 64 << 20))
            Glibc.sync()
            let before = Self.used(volume.mountPoint)
            var clone = DirectoryClone()
            try clone.copy(volume.mountPoint + "/source", to: volume.mountPoint + "/copy")
            Glibc.sync()
            #expect(clone.cloned == 1 && clone.copied == 0)
            #expect(Self.used(volume.mountPoint) - before < 8 << 20)
        } catch {
            try await volume.unmount()
            throw error
        }
        try await volume.unmount()
        #expect(!volume.isMounted)
    }

    private static func used(_ path: String) -> Int64 {
        var disk = statvfs()
        statvfs(path, &disk)
        return Int64(disk.f_blocks - disk.f_bfree) * Int64(disk.f_frsize)
    }
}
