#if canImport(Glibc)
    import Glibc
#endif
import Foundation

/// Stops postgres processes a previous Kiln left running (it was killed before it could stop them, and
/// the parent-death signal did not reach them). Kiln cannot adopt them: they are not its children.
public enum OrphanSweep {
    /// For each data directory, stops the postmaster its `postmaster.pid` names if that process is a
    /// postgres serving that directory. Returns how many it stopped.
    @discardableResult
    public static func stopOrphans(dataDirectories: [String]) async -> Int {
        var stopped = 0
        for directory in dataDirectories {
            guard let text = try? String(contentsOfFile: directory + "/postmaster.pid", encoding: .utf8) else { continue }
            let lines = text.split(separator: "\n")
            guard lines.count > 1, let pid = Int32(lines[0]), isPostgres(pid: pid, dataDirectory: directory) else { continue }
            kill(pid, SIGQUIT)
            for _ in 0..<500 where kill(pid, 0) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            stopped += 1
        }
        return stopped
    }

    static func isPostgres(pid: Int32, dataDirectory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments.first.map { $0.hasSuffix("postgres") } == true && arguments.contains(dataDirectory)
    }
}
