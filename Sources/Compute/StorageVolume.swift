#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// The copy-on-write volume Kiln can keep Lakebase data on when the machine's own filesystem has no
/// reflinks (ext4): an xfs filesystem made with `reflink=1` in a sparse image file, loop-mounted on the
/// storage root, so a branch is a clone of its parent's files (`DirectoryClone`) in the same time
/// whatever its size (`../shared/docs/pg-limits.md` §3: 60–90 ms for 40 MB to 5 GB).
///
/// Asked for with `KILN_STORAGE_VOLUME=xfs`; it needs root (`mount`) and Debian's `xfsprogs`. The image is
/// made on first use, sized `size` bytes at most (sparse: it takes disk as data is written, and gives
/// it back as files are deleted, being mounted with `discard`). Kiln mounts it at start and unmounts it
/// when it stops, which frees the loop device; a Kiln killed with the volume mounted finds it mounted at
/// its next start and goes on with it.
public struct StorageVolume: Sendable, Equatable {
    /// The image file, `<data-dir>/storage.xfs`.
    public var image: String
    /// Where it is mounted: the storage root, under which every branch's data lives.
    public var mountPoint: String
    /// The image's size, in bytes, when Kiln makes it; at most 90 % of the disk free then.
    public var size: Int64

    /// The size an image gets when none is asked for: 64 GiB.
    public static let defaultSize: Int64 = 64 << 30

    public init(image: String, mountPoint: String, size: Int64 = StorageVolume.defaultSize) {
        self.image = URL(fileURLWithPath: image).standardizedFileURL.path
        self.mountPoint = URL(fileURLWithPath: mountPoint).resolvingSymlinksInPath().path
        self.size = size
    }

    /// Mounts the volume on `mountPoint`, first making the image if there is none; nothing when it is
    /// mounted already (a killed Kiln's). Returns what it did, for the log.
    ///
    /// Throws `ComputeError` when Kiln is not root, `mkfs.xfs` is missing, the mount point already holds
    /// data made without the volume (which the mount would hide), or `mount` fails.
    public func mount() async throws -> String {
        if isMounted { return "The copy-on-write volume \(image) was still mounted on \(mountPoint); Kiln goes on with it." }
        guard getuid() == 0 else {
            throw ComputeError("KILN_STORAGE_VOLUME=xfs mounts an image with `mount`, which needs root; run Kiln as root or unset it.")
        }
        var made = false
        if !FileManager.default.fileExists(atPath: image) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: mountPoint)) ?? []
            guard contents.isEmpty else {
                throw ComputeError(
                    "KILN_STORAGE_VOLUME=xfs would mount a new volume on \(mountPoint), which holds data made without it; "
                        + "move that data away (or use a new data directory), or unset KILN_STORAGE_VOLUME.")
            }
            try await make()
            made = true
        }
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        _ = try await Commands.output(["/bin/mount", "-t", "xfs", "-o", "loop,discard", image, mountPoint], what: "Mounting \(image)")
        return made
            ? "Made the copy-on-write volume \(image) (xfs, reflink=1, \(size >> 30) GiB at most) and mounted it on \(mountPoint)."
            : "Mounted the copy-on-write volume \(image) on \(mountPoint)."
    }

    /// Unmounts the volume (its loop device is freed with it). Throws `ComputeError` when it is busy.
    public func unmount() async throws {
        guard isMounted else { return }
        _ = try await Commands.output(["/bin/umount", mountPoint], what: "Unmounting \(mountPoint)")
    }

    /// Whether a filesystem is mounted on `mountPoint` (`/proc/self/mountinfo`, field 5).
    public var isMounted: Bool {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && Self.unescape(String(fields[4])) == mountPoint
        }
    }

    private func make() async throws {
        guard let mkfs = ["/usr/sbin/mkfs.xfs", "/sbin/mkfs.xfs"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ComputeError("KILN_STORAGE_VOLUME=xfs needs mkfs.xfs: install Debian's xfsprogs.")
        }
        let folder = URL(fileURLWithPath: image).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var disk = statvfs()
        let free = statvfs(folder, &disk) == 0 ? Int64(disk.f_bavail) * Int64(disk.f_frsize) : size
        let bytes = min(size, free / 10 * 9) / 4096 * 4096
        guard bytes >= 512 << 20 else {
            throw ComputeError("There is too little free disk under \(folder) for a copy-on-write volume (\(free >> 20) MiB).")
        }
        let partial = image + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            guard FileManager.default.createFile(atPath: partial, contents: nil, attributes: [.posixPermissions: 0o600]),
                truncate(partial, off_t(bytes)) == 0
            else { throw ComputeError("Cannot make \(partial): \(String(cString: strerror(errno))).") }
            _ = try await Commands.output([mkfs, "-q", "-m", "reflink=1", partial], what: "mkfs.xfs")
            try FileManager.default.moveItem(atPath: partial, toPath: image)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }

    /// `/proc/self/mountinfo` writes a space, tab, newline and backslash in a path as `\040`, `\011`,
    /// `\012` and `\134`.
    static func unescape(_ field: String) -> String {
        var result = ""
        var rest = Substring(field)
        while let slash = rest.firstIndex(of: "\\") {
            result += rest[..<slash]
            let code = rest[rest.index(after: slash)...].prefix(3)
            if code.count == 3, let value = UInt8(code, radix: 8) {
                result.append(Character(UnicodeScalar(value)))
                rest = rest[rest.index(slash, offsetBy: 4)...]
            } else {
                result.append("\\")
                rest = rest[rest.index(after: slash)...]
            }
        }
        return result + rest
    }

    /// Whether files under `directory` can be reflink clones, so branches there are copy-on-write.
    public static func hasReflinks(_ directory: String) -> Bool {
        DirectoryClone.canClone(in: directory)
    }
}
