import Foundation

/// Runs short compute commands (initdb, cp, pg_basebackup) as the compute user and waits for them.
struct Commands: Sendable {
    let configuration: ComputeConfiguration

    /// Runs `arguments`; throws with the end of its output when it fails.
    func run(_ arguments: [String], what: String) async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let child = try await Launcher.shared.launch(configuration.user.command(arguments), logPath: log)
        let status = await child.waitForExit()
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ComputeError("\(what) failed (exit \(status)): \(Self.tail(output))")
        }
    }

    /// The last few lines of `text`, trimmed, for an error message.
    static func tail(_ text: String, lines: Int = 4) -> String {
        text.split(separator: "\n").suffix(lines).joined(separator: " | ").trimmingCharacters(in: .whitespaces)
    }
}
