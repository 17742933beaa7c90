#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Synchronization

/// Starts child processes from one thread that lives as long as Kiln.
///
/// Linux sends the parent-death signal (`setpriv --pdeathsig`) when the *thread* that forked the child
/// exits, not the process; Swift's and Dispatch's worker threads come and go, so every compute process is
/// started from this thread instead.
final class Launcher: Sendable {
    static let shared = Launcher()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            while true {
                ready.wait()
                let job = jobs.withLock { $0.removeFirst() }
                job()
            }
        }
        thread.name = "kiln-launcher"
        thread.start()
    }

    /// Starts `arguments[0]` (an absolute path) with the rest as its arguments; its output is appended to
    /// `logPath` (created 0644 if missing), or discarded when `nil`. The child has descriptors 0–2 only
    /// (stdin `/dev/null`, stdout and stderr the log), none of Kiln's, and a process group of its own (as
    /// Foundation's `Process` gives), so a Ctrl-C at Kiln's terminal reaches Kiln alone. Returns the running
    /// process and a signal for its exit; throws `ComputeError` when the log cannot be opened or the process
    /// cannot start.
    func launch(_ arguments: [String], logPath: String?) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock {
                $0.append {
                    continuation.resume(with: Result { try Self.spawn(arguments, logPath: logPath, sockets: [], group: .processGroup) })
                }
            }
            ready.signal()
        }
    }

    /// Starts `arguments[0]` as `launch(_:logPath:)` does, with `sockets` open in it as descriptors 3, 4, …
    /// (where systemd's socket activation puts them; the command sets `LISTEN_FDS` and `LISTEN_PID`, as
    /// `ConnectionPooler`'s shell does) and no other of Kiln's descriptors, in a session of its own. The
    /// sockets stay the caller's; the child gets copies. Throws `ComputeError` when the process cannot start.
    func launch(_ arguments: [String], logPath: String, sockets: [Int32]) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock {
                $0.append {
                    continuation.resume(with: Result { try Self.spawn(arguments, logPath: logPath, sockets: sockets, group: .session) })
                }
            }
            ready.signal()
        }
    }

    /// Where a child stands among Kiln's processes.
    private enum Group {
        /// A process group of its own (`setpgid(0, 0)`) in Kiln's session, as Foundation's `Process` starts
        /// one: the terminal's signals pass it by, and the kernel's autogroup scheduling counts it in
        /// Kiln's share of the CPU.
        case processGroup
        /// A session of its own (`setsid`), as `pgbouncer -d` or a service manager gives a daemon: a Ctrl-C
        /// at Kiln's terminal is Kiln's to handle, which stops the child in its turn; and with the kernel's
        /// autogroup scheduling (Debian's default) the child gets a share of the CPU of its own instead of
        /// one taken out of the share of Kiln's session (clients, computes and all), as PgBouncer set up by
        /// hand does. The pdeath signal still ends it with Kiln.
        case session
    }

    /// `posix_spawn` with a file action Foundation's `Process` lacks: it closes every descriptor above the
    /// ones it passes in the child (`closefrom`), where Foundation lists `/proc/self/fd` in the parent and
    /// adds a close action for each (which crashed in `Process.run` with 1,370 descriptors open).
    private static func spawn(_ arguments: [String], logPath: String?, sockets: [Int32], group: Group) throws -> ChildProcess {
        // Copies above every target first, so that placing one at 3 + i never overwrites another's source.
        let sources = try sockets.map { socket in
            let copy = fcntl(socket, F_DUPFD_CLOEXEC, 3 + Int32(sockets.count))
            guard copy >= 0 else { throw ComputeError("Cannot pass a socket to \(arguments[0]): \(String(cString: strerror(errno)))") }
            return copy
        }
        defer { for source in sources { close(source) } }
        // Opened here, so that a log that cannot be opened is named in the error (a file action's failure
        // reads as the program's own).
        let log = logPath ?? "/dev/null"
        let output = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw ComputeError("Cannot open \(log) for the output of \(arguments[0]): \(String(cString: strerror(errno)))")
        }
        defer { close(output) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        for (index, source) in sources.enumerated() { posix_spawn_file_actions_adddup2(&actions, source, 3 + Int32(index)) }
        guard let closeFrom = addCloseFrom, closeFrom(&actions, 3 + Int32(sockets.count)) == 0 else {
            throw ComputeError("This C library cannot close descriptors in a child (glibc 2.34 can).")
        }
        // Kiln's threads block SIGTERM and SIGINT (Swift Service Lifecycle takes them); the child starts
        // with no signal blocked and every one at its default.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        var all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        let grouping: Int32
        switch group {
        case .processGroup:
            grouping = POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        case .session:
            grouping = Self.spawnSetSession
        }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | grouping))
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw ComputeError("Cannot start \(arguments[0]): \(String(cString: strerror(result)))") }
        let child = ChildProcess(pid: pid)
        let spawned = pid
        // The reaper waits for the child's end without reaping it (WNOWAIT), then records the end and reaps it
        // under the child's lock: until then its pid stays taken, so `ChildProcess.signal`, which checks for
        // the end under the same lock, never signals a process that took the pid over.
        let reaper = Thread {
            var info = siginfo_t()
            var waited: Int32
            repeat { waited = waitid(P_PID, id_t(spawned), &info, WEXITED | WNOWAIT) } while waited < 0 && errno == EINTR
            // The exit code, or the signal that ended it (as Foundation reports it); -1 if it could not be
            // waited for (never a success).
            let status = waited < 0 ? -1 : info._sifields._sigchld.si_status
            child.exited(status: status) {
                var reaped: pid_t
                repeat { reaped = waitpid(spawned, nil, 0) } while reaped < 0 && errno == EINTR
            }
        }
        reaper.name = "kiln-reaper-\(spawned)"
        reaper.start()
        return child
    }

    /// glibc's `POSIX_SPAWN_SETSID` (2.26, `<spawn.h>`), which Swift's Glibc module leaves out (it is a GNU
    /// extension).
    private static let spawnSetSession: Int32 = 0x80

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), which Swift's Glibc module does not declare.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()
}

/// A process started by the launcher: its pid, and its exit status once it ends.
final class ChildProcess: Sendable {
    /// The child's process id.
    let pid: Int32
    private struct State {
        var status: Int32?
        var waiters: [CheckedContinuation<Int32, Never>] = []
        /// Waiters of `exitOrCancellation`, by a number of their own so that a cancelled one can leave.
        var cancellable: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    /// A process the launcher spawned (and reaps).
    init(pid: Int32) {
        self.pid = pid
    }

    var hasExited: Bool { state.withLock { $0.status != nil } }

    /// Records the end of the process and runs `reap` (which frees its pid) under the lock, so that whoever
    /// sees the end sees the pid freed too; then wakes its waiters. `reap` does not block: the process has
    /// already ended.
    fileprivate func exited(status: Int32, reap: () -> Void) {
        let (waiters, cancellable) = state.withLock { state in
            state.status = status
            reap()
            defer { (state.waiters, state.cancellable) = ([], [:]) }
            return (state.waiters, state.cancellable.values)
        }
        for waiter in waiters { waiter.resume(returning: status) }
        for waiter in cancellable { waiter.resume() }
    }

    /// Returns once the process has ended, or as soon as the calling task is cancelled.
    func exitOrCancellation() async {
        let number = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let waiting = state.withLock { state in
                    guard state.status == nil, !Task.isCancelled else { return false }
                    state.cancellable[number] = continuation
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.cancellable.removeValue(forKey: number) }?.resume()
        }
    }

    /// Waits for the process to end; returns its exit status (or the signal that ended it).
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Sends `signal` to the process unless it has ended. The check and the signal are made under the lock
    /// that records the end, and the launcher reaps the process only after that record, so the pid is still
    /// this process's (running, or a zombie) when the signal is sent.
    func signal(_ signal: Int32) {
        state.withLock { state in
            guard state.status == nil else { return }
            kill(pid, signal)
        }
    }

    /// Sends `signals` at once, then each of `escalation` after its delay (counted from the one before)
    /// while the process still runs; returns when it has exited.
    func stop(_ signals: [Int32], escalation: [(after: Duration, signal: Int32)]) async {
        for signal in signals { self.signal(signal) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.waitForExit() }
            group.addTask {
                do {
                    for step in escalation {
                        try await Task.sleep(for: step.after)
                        self.signal(step.signal)
                    }
                } catch {} // cancelled: it exited in time
            }
            await group.next()
            group.cancelAll()
        }
    }
}
