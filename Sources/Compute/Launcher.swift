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

    /// Starts `arguments[0]` with the rest as its arguments; its output is appended to `logPath`
    /// (or discarded when `nil`). Returns the running process and a signal for its exit.
    func launch(_ arguments: [String], logPath: String?) async throws -> ChildProcess {
        try await withCheckedThrowingContinuation { continuation in
            jobs.withLock {
                $0.append {
                    continuation.resume(with: Result { try Self.spawn(arguments, logPath: logPath) })
                }
            }
            ready.signal()
        }
    }

    private static func spawn(_ arguments: [String], logPath: String?) throws -> ChildProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let output: FileHandle
        if let logPath {
            if !FileManager.default.fileExists(atPath: logPath) {
                _ = FileManager.default.createFile(atPath: logPath, contents: nil)
            }
            output = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
            output.seekToEndOfFile()
        } else {
            output = FileHandle.nullDevice
        }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        let child = ChildProcess(process: process)
        process.terminationHandler = { finished in child.exited(status: finished.terminationStatus) }
        try process.run()
        if logPath != nil { try? output.close() }
        return child
    }
}

/// A process started by the launcher: its pid, and its exit status once it ends.
final class ChildProcess: Sendable {
    private let process: Process
    private let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    init(process: Process) { self.process = process }

    var pid: Int32 { process.processIdentifier }

    var hasExited: Bool { state.withLock { $0.status != nil } }

    fileprivate func exited(status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
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

    func signal(_ signal: Int32) {
        guard !hasExited else { return }
        kill(process.processIdentifier, signal)
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
