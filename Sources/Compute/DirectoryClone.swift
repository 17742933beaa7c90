#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Synchronization

/// Copies a PostgreSQL data directory file by file, each file a reflink clone where the filesystem can
/// share blocks (`FICLONE`: xfs with `reflink=1`, btrfs), so a branch costs the same whatever its size;
/// elsewhere an in-kernel copy (`sendfile`). Files, directories and symbolic links keep their mode and
/// owner.
///
/// It copies a stopped directory or, inside `pg_backup_start` / `pg_backup_stop`, a running one: a file
/// that vanishes meanwhile is skipped, and what `pg_basebackup` leaves out is left out (PostgreSQL's
/// `src/backend/backup/basebackup.c`, `excludeDirContents` and `excludeFiles`): the contents of the
/// directories in `emptiedDirectories` and of `pgsql_tmp*`, and the files in `skippedFiles`.
struct DirectoryClone {
    /// Directories copied empty: their contents are rebuilt at start (or are replication slots, which
    /// belong to the original's standbys; a slot nobody reads would keep WAL forever).
    static let emptiedDirectories: Set<String> = [
        "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_stat_tmp", "pg_subtrans", "pg_replslot",
    ]
    /// Files never copied, wherever they are.
    static let skippedFiles: Set<String> = [
        "postmaster.pid", "postmaster.opts", "backup_label", "tablespace_map", "backup_manifest", "pg_internal.init",
        "postgresql.auto.conf.tmp", "current_logfiles.tmp",
    ]

    /// Relative paths (such as `pg_wal`) whose contents are not copied either; the directory is.
    var alsoEmptied: Set<String> = []
    /// Whether `backup_label` is copied: a base image's must be, since it tells recovery where to start.
    var keepsBackupLabel = false
    /// How many files were reflink clones and how many were copied: for tests and the log.
    private(set) var cloned = 0
    private(set) var copied = 0

    /// Copies the tree at `source` into `destination`, which must not exist: its directories and links
    /// first, then its files on as many threads as there are cores (up to four: a clone is work in the
    /// kernel per file, and two threads here take about 40 % off a branch's). Throws `ComputeError` naming
    /// the file on the first failure other than a vanished source (the caller removes the partial copy).
    mutating func copy(_ source: String, to destination: String) throws {
        var info = stat()
        guard lstat(source, &info) == 0 else { throw Self.failure("read", source) }
        try makeDirectory(destination, like: info)
        var files: [(from: String, to: String)] = []
        try copyContents(of: source, to: destination, relative: "", files: &files)
        try copyInParallel(files)
    }

    /// Each worker takes the next file not taken yet (so one big file does not hold up a fixed share), and
    /// all stop at the first failure.
    private mutating func copyInParallel(_ files: [(from: String, to: String)]) throws {
        let workers = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount, files.count))
        let outcome = Mutex<(next: Int, cloned: Int, copied: Int, failure: ComputeError?)>((0, 0, 0, nil))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let index: Int? = outcome.withLock { state in
                    guard state.failure == nil, state.next < files.count else { return nil }
                    state.next += 1
                    return state.next - 1
                }
                guard let index else { return }
                do throws(ComputeError) {
                    let how = try Self.copyFile(files[index].from, to: files[index].to)
                    outcome.withLock { state in
                        switch how {
                        case .cloned: state.cloned += 1
                        case .copied: state.copied += 1
                        case .vanished: break
                        }
                    }
                } catch {
                    outcome.withLock { state in state.failure = state.failure ?? error }
                    return
                }
            }
        }
        let total = outcome.withLock { $0 }
        self.cloned += total.cloned
        self.copied += total.copied
        if let failure = total.failure { throw failure }
    }

    /// Copies the regular files of the directory `source` into `destination`, replacing those there: the
    /// WAL, after `pg_backup_stop` or for a stopped server. With `firstSegment` (a WAL file name such as
    /// `000000010000000000000003`), WAL segments before it on any timeline are left out: the copy's
    /// recovery starts there; with `lastSegment`, those after it: they are old segments renamed for reuse
    /// (`wal_recycle`), up to `max_wal_size` of them, which hold nothing the copy needs. Files named in
    /// `skipped` are left out too.
    mutating func copyFiles(
        of source: String, to destination: String, from firstSegment: String? = nil, through lastSegment: String? = nil,
        except skipped: Set<String> = []
    ) throws {
        let first = firstSegment.map { Self.segmentNumber($0) }
        let last = lastSegment.map { Self.segmentNumber($0) }
        for name in try Self.entries(of: source) where !skipped.contains(name) {
            if name.count == 24, name.allSatisfy(\.isHexDigit) {
                if let first, Self.segmentNumber(name) < first { continue }
                if let last, Self.segmentNumber(name) > last { continue }
            }
            var info = stat()
            guard lstat(source + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            unlink(destination + "/" + name)
            switch try Self.copyFile(source + "/" + name, to: destination + "/" + name) {
            case .cloned: cloned += 1
            case .copied: copied += 1
            case .vanished: break
            }
        }
    }

    /// A WAL file name's log and segment numbers (its last 16 hex digits), which order segments across
    /// timelines.
    private static func segmentNumber(_ name: String) -> Substring { name.suffix(16) }

    /// Makes the directories and links below `source` in `destination`, and lists in `files` the files to
    /// copy there.
    private func copyContents(of source: String, to destination: String, relative: String, files: inout [(from: String, to: String)]) throws {
        for name in try Self.entries(of: source) {
            let from = source + "/" + name
            let to = destination + "/" + name
            let path = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(from, &info) == 0 else {
                if errno == ENOENT { continue } // removed since it was listed
                throw Self.failure("read", from)
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if name.hasPrefix("pgsql_tmp") { continue }
                try makeDirectory(to, like: info)
                if !Self.emptiedDirectories.contains(path) && !alsoEmptied.contains(path) {
                    try copyContents(of: from, to: to, relative: path, files: &files)
                }
            case S_IFREG:
                let kept = keepsBackupLabel && path == "backup_label"
                if !kept && (Self.skippedFiles.contains(name) || name.hasPrefix("pgsql_tmp")) { continue }
                files.append((from, to))
            case S_IFLNK:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(from, &target, target.count - 1)
                guard length >= 0 else {
                    if errno == ENOENT { continue }
                    throw Self.failure("read the link", from)
                }
                target[length] = 0
                guard symlink(target, to) == 0 else { throw Self.failure("make the link", to) }
                lchown(to, info.st_uid, info.st_gid)
            default:
                continue // sockets and the like are not data
            }
        }
    }

    /// How one file was copied.
    private enum FileCopy { case cloned, copied, vanished }

    /// Clones (or copies) one file; a source that vanished is skipped.
    private static func copyFile(_ source: String, to destination: String) throws(ComputeError) -> FileCopy {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else {
            if errno == ENOENT { return .vanished }
            throw Self.failure("open", source)
        }
        defer { Glibc.close(input) }
        var info = stat()
        guard fstat(input, &info) == 0 else { throw Self.failure("read", source) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, info.st_mode & 0o7777)
        guard output >= 0 else { throw Self.failure("create", destination) }
        defer { Glibc.close(output) }
        let how: FileCopy
        if ioctl(output, Self.ficlone, input) == 0 {
            how = .cloned
        } else {
            var offset = off_t(0)
            while true {
                let sent = sendfile(output, input, &offset, 1 << 30)
                if sent == 0 { break }
                guard sent > 0 else {
                    if errno == EINTR { continue }
                    throw Self.failure("copy", source)
                }
            }
            how = .copied
        }
        fchown(output, info.st_uid, info.st_gid)
        return how
    }

    private func makeDirectory(_ path: String, like info: stat) throws {
        guard mkdir(path, info.st_mode & 0o7777) == 0 else { throw Self.failure("create the directory", path) }
        chown(path, info.st_uid, info.st_gid)
        chmod(path, info.st_mode & 0o7777) // mkdir applies the umask
    }

    /// The bytes the regular files under `path` hold, each `lstat`ed once (links are not followed). Not
    /// Foundation's enumerator with attributes: it looks up each file's owner by name, which made a read of
    /// a branch's size cost 100 ms.
    static func bytes(under path: String) -> Int64 {
        var total: Int64 = 0
        for name in (try? entries(of: path)) ?? [] {
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: total += bytes(under: child)
            case S_IFREG: total += Int64(info.st_size)
            default: continue
            }
        }
        return total
    }

    private static func entries(of directory: String) throws -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ComputeError("Cannot list \(directory): \((error as NSError).localizedDescription)")
        }
    }

    private static func failure(_ what: String, _ path: String) -> ComputeError {
        ComputeError("Cannot \(what) \(path): \(String(cString: strerror(errno))).")
    }

    /// Flushes the filesystem that holds `path` to disk (`syncfs`): after a clone, only metadata.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", path) }
        defer { Glibc.close(descriptor) }
        guard let syncfs = Self.syncfs else { return Glibc.sync() }
        guard syncfs(descriptor) == 0 else { throw failure("sync", path) }
    }

    /// glibc's `syncfs` (2.14), which Swift's Glibc module does not declare (it needs `_GNU_SOURCE`).
    private static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// Runs blocking file work on a thread of its own, so that a copy of gigabytes does not hold one of
    /// the few threads that run Kiln's tasks.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// `FICLONE` from `linux/fs.h`: `_IOW(0x94, 9, int)`.
    static let ficlone: UInt = 0x4004_9409

    /// Whether files in `directory` can be reflink clones: tries one on two scratch files there.
    static func canClone(in directory: String) -> Bool {
        let probe = directory + "/.kiln-reflink-probe-\(getpid())"
        defer {
            unlink(probe)
            unlink(probe + ".clone")
        }
        let input = open(probe, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard input >= 0 else { return false }
        defer { Glibc.close(input) }
        _ = write(input, "kiln", 4)
        let output = open(probe + ".clone", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { return false }
        defer { Glibc.close(output) }
        return ioctl(output, ficlone, input) == 0
    }
}
