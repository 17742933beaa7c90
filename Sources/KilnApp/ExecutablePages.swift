#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// The pages of the kiln executable that this process has mapped in: released from its page tables once
/// the start is over, as a kernel frees its init sections.
///
/// A start runs code that never runs again (migrations, the bootstrap, the Lakebase template's initdb and
/// its supervision, TLS's first certificate), and the kernel maps a file's pages 64 KiB at a time around each
/// one touched: most of an idle Kiln's resident memory was pages of its binary. `release()` hands back
/// every page of the executable's mappings that holds nothing but the file's own bytes (not writable, no
/// page written: its code and read-only data; never its data or relocated data) with
/// `madvise(MADV_DONTNEED)`. The page cache keeps them: a page used again is mapped again by a minor fault
/// (a first request after the release: under 1 ms more).
enum ExecutablePages {
    /// What `release()` did: the executable's mappings it advised and their resident bytes just before.
    struct Released: Equatable, Sendable {
        var mappings = 0
        var residentBytes = 0
    }

    /// One mapping of `/proc/self/smaps` and the fields `release()` reads.
    struct Mapping: Equatable, Sendable {
        var start: UInt
        var end: UInt
        var permissions: Substring
        var inode: UInt64
        /// The mapped file's path (empty for anonymous memory).
        var path: String = ""
        var residentKiB = 0
        var anonymousKiB = 0

        /// Holds only its file's bytes: never writable, no page written (copied on write).
        var isFileContentOnly: Bool { !permissions.contains("w") && anonymousKiB == 0 && inode != 0 }
    }

    /// Releases the executable's file-content pages from this process's page tables. Does nothing where
    /// `/proc` or `madvise` is not there (macOS).
    @discardableResult
    static func release() -> Released {
        #if canImport(Glibc)
            guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"),
                let smaps = try? String(contentsOfFile: "/proc/self/smaps", encoding: .utf8)
            else { return Released() }
            var released = Released()
            for mapping in mappings(smaps) where mapping.path == executable && mapping.isFileContentOnly {
                let address = UnsafeMutableRawPointer(bitPattern: mapping.start)
                guard madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0 else { continue }
                released.mappings += 1
                released.residentBytes += mapping.residentKiB * 1024
            }
            return released
        #else
            return Released()
        #endif
    }

    /// The mappings of a `/proc/<pid>/smaps` text: each header line (`start-end perms offset dev inode path`)
    /// with the `Rss:` and `Anonymous:` lines under it (kB).
    static func mappings(_ smaps: String) -> [Mapping] {
        var mappings: [Mapping] = []
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = fields.first else { continue }
            if first.hasSuffix(":") {
                guard !mappings.isEmpty, fields.count >= 2, let value = Int(fields[1]) else { continue }
                switch first {
                case "Rss:": mappings[mappings.count - 1].residentKiB = value
                case "Anonymous:": mappings[mappings.count - 1].anonymousKiB = value
                default: break
                }
                continue
            }
            let range = first.split(separator: "-")
            guard fields.count >= 5, range.count == 2, let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16),
                let inode = UInt64(fields[4])
            else { continue }
            mappings.append(Mapping(start: start, end: end, permissions: fields[1], inode: inode, path: fields.dropFirst(5).joined(separator: " ")))
        }
        return mappings
    }
}
