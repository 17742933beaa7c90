import KilnCore

/// The one owner of the computes' data directories: every start, stop, suspend, copy, clone and removal
/// of a branch's or a replica's data goes through it, one at a time per data directory. So a wake never
/// starts a compute on a directory being copied, a suspend never stops the server a `pg_basebackup` reads,
/// and a maintenance server never shares a directory with an endpoint's compute. (The one exception is the
/// driver's own restart of a compute that crashed; while it is down the owner neither copies its data nor
/// serves it another way.)
///
/// A branch's data directory is served by its read-write endpoint's compute (or, for Kiln's own SQL while
/// that sleeps, a maintenance server); a read replica has a directory of its own. The owner finds which
/// compute serves a directory from the driver's specs, so callers name directories, not endpoints.
public final class DataDirectoryOwner: Sendable {
    /// Where the work is done; its reads (`exists`, `isSuspended`, `keptVerifiers`, `state`…) need no owner.
    public let driver: any ComputeDriver
    private let locks = KeyedLocks()

    /// Names the private servers Kiln starts on a directory no compute serves (`withServer`).
    public static let maintenancePrefix = "maintenance-"

    public init(driver: any ComputeDriver) {
        self.driver = driver
    }

    /// Runs `body` while holding the data directory's lock; nothing else owned happens to it meanwhile.
    private func withDirectory<T: Sendable>(_ path: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await locks.withLock(path, body)
    }

    /// The port of the compute serving `path` when one is up; nil when none is wanted there. Throws when
    /// one is wanted but down (it crashed and the supervisor is restarting it): its data can be neither
    /// copied file by file nor served by a second server until it runs again.
    private func runningPort(on path: String) async throws -> Int? {
        guard let spec = await computes(on: path).first else { return nil }
        guard await driver.isRunning(id: spec.id) else {
            throw KilnError(.invalidState, "The compute \(spec.id) is restarting after it stopped unexpectedly; try again once it runs.")
        }
        return spec.port
    }

    /// The specs of the computes the driver runs (or is restarting) on `path`.
    private func computes(on path: String) async -> [ServerSpec] {
        var specs: [ServerSpec] = []
        for id in await driver.ids() {
            if let spec = await driver.spec(id: id), spec.dataDirectory == path { specs.append(spec) }
        }
        return specs
    }

    // MARK: - Data

    /// A new empty cluster of PostgreSQL `major` at `path` (nothing when one is there already).
    public func createEmpty(at path: String, major: Int) async throws {
        try await withDirectory(path) { [driver] in
            if !driver.exists(path) { try await driver.createEmpty(at: path, major: major) }
        }
    }

    /// Copies the data at `source` to `path` for a new branch: a base backup from the compute that serves
    /// it when one is up, a plain copy when none is. Both directories are held throughout. Returns the WAL
    /// position of the source the copy holds everything up to, nil when the driver cannot tell.
    @discardableResult
    public func copy(_ source: String, to path: String) async throws -> LSN? {
        try await withDirectory(source) {
            try await self.withDirectory(path) { [driver] in
                if let port = try await self.runningPort(on: source) {
                    return try await driver.copy(runningServerPort: port, dataDirectory: source, to: path)
                } else {
                    return try await driver.copy(stoppedDirectory: source, to: path)
                }
            }
        }
    }

    /// A hot standby of the data at `source` for a new replica at `path`, streaming through `slot`: a base
    /// backup from the compute serving `source` (a maintenance server on `maintenancePort()` when none is up).
    public func makeStandby(
        of source: String, slot: String, to path: String, maintenancePort: @escaping @Sendable () async throws -> Int
    ) async throws {
        try await withServer(on: source, maintenancePort: maintenancePort) { [driver] port in
            try await self.withDirectory(path) { try await driver.copy(standbyOfPort: port, slot: slot, to: path) }
        }
    }

    // MARK: - History

    /// Takes a base image of the branch whose data is at `history.dataDirectory`: from its running compute,
    /// or of its stopped data.
    public func takeBase(_ history: BranchHistory, now: Int64) async throws {
        try await withDirectory(history.dataDirectory) { [driver] in
            let port = try await self.runningPort(on: history.dataDirectory)
            _ = try await driver.takeBase(history, runningServerPort: port, now: now)
        }
    }

    /// Deletes what the branch's history no longer needs to reach every moment from `start` on (Unix ms),
    /// holding the branch so that no restore reads a base or a segment being deleted; returns how many.
    public func prune(_ history: BranchHistory, before start: Int64) async -> Int {
        (try? await withDirectory(history.dataDirectory) { [driver] in driver.prune(history, before: start) }) ?? 0
    }

    /// Makes at `path` the data of the branch at `history.dataDirectory` as it was at `target`, recovered
    /// from the newest base image before it. The branch is held throughout, served by its compute or a
    /// maintenance server, which first writes a commit record (so recovery to a moment up to now finds its
    /// end). Returns where the new branch's timeline starts.
    ///
    /// Throws `KilnError(.invalidParameterValue)` when the target is older than the branch's history or
    /// ahead of its WAL, and `ComputeError` when recovery fails.
    public func restore(
        _ history: BranchHistory, to target: RecoveryTarget, into path: String, maintenancePort: @escaping @Sendable () async throws -> Int
    ) async throws -> LSN {
        try await withServer(on: history.dataDirectory, maintenancePort: maintenancePort) { [driver] port in
            let end = try await driver.markPoint(port: port)
            var lsn: LSN?
            var micros: Int64?
            switch target {
            case .lsn(let wanted):
                guard wanted <= end else {
                    throw KilnError.invalidParameter("source_branch_lsn \(wanted) is ahead of the source branch's WAL, which ends at \(end).")
                }
                lsn = wanted
            case .time(let wanted): micros = wanted
            }
            guard let base = history.base(before: lsn, micros: micros) else {
                throw KilnError.invalidParameter(
                    "The point asked for is older than the source branch's history, which begins when Kiln first kept a copy of it.")
            }
            let recoveryPort = try await maintenancePort()
            return try await self.withDirectory(path) {
                try await driver.restore(history, from: base, to: target, walEnd: end, port: recoveryPort, into: path)
            }
        }
    }

    /// Removes a data directory and what lies beside it, stopping first any compute still on it (a wake
    /// that slipped in before the caller's stop).
    public func remove(_ path: String) async {
        _ = try? await withDirectory(path) { [driver] in
            for spec in await self.computes(on: path) { await driver.stop(id: spec.id) }
            await driver.remove(path)
        }
    }

    // MARK: - Computes

    /// Starts (or restarts with a new spec) the compute `spec` describes on its data directory, which
    /// then no longer counts as suspended. With `unlessSuspended`, a directory whose compute was suspended
    /// for being idle stays so (it wakes when a client connects). `stillWanted()`, asked once the directory
    /// is free, may say the compute is no longer wanted (deleted or disabled meanwhile): then nothing starts.
    /// With `unlessRunning`, a compute that runs by then (whatever its spec) is left as it is.
    public func start(
        _ spec: ServerSpec, unlessSuspended: Bool = false, unlessRunning: Bool = false,
        stillWanted: @escaping @Sendable () async throws -> Bool = { true }
    ) async throws {
        try await withDirectory(spec.dataDirectory) { [driver] in
            if unlessSuspended && driver.isSuspended(spec.dataDirectory) { return }
            if unlessRunning, await driver.isRunning(id: spec.id) { return }
            guard try await stillWanted() else { return }
            defer { driver.setSuspended(spec.dataDirectory, false, verifiers: nil) }
            try await driver.start(spec)
        }
    }

    /// Stops a compute, once no other work holds its data directory.
    public func stop(id: String) async {
        guard let spec = await driver.spec(id: id) else { return await driver.stop(id: id) }
        _ = try? await withDirectory(spec.dataDirectory) { [driver] in await driver.stop(id: id) }
    }

    /// Suspends an idle compute: marks its directory suspended (keeping its login verifiers when
    /// `keepingVerifiers`, for a read-write compute whose roles are its own) and stops it. Returns whether
    /// it suspended: not when it is not running, or when `stillIdle()` — asked once the directory is free,
    /// since a copy may hold it — says a client came meanwhile.
    public func suspend(id: String, keepingVerifiers: Bool, stillIdle: @escaping @Sendable () async -> Bool) async -> Bool {
        guard let spec = await driver.spec(id: id) else { return false }
        let suspended = try? await withDirectory(spec.dataDirectory) { [driver] () async -> Bool in
            guard await driver.isRunning(id: id), await stillIdle() else { return false }
            let verifiers = keepingVerifiers ? try? await driver.loginVerifiers(port: spec.port) : nil
            // The marker is written first, so that a login right after the stop finds the verifiers.
            driver.setSuspended(spec.dataDirectory, true, verifiers: verifiers)
            await driver.stop(id: id)
            return true
        }
        return suspended ?? false
    }

    /// Runs `body` with the port of a running server of the data at `path`: the compute serving it, or
    /// a maintenance server started on `maintenancePort()` for the purpose and stopped afterwards. The
    /// work may change roles: a suspended directory forgets its kept verifiers until the work is done and
    /// then keeps them as they are (forgotten ones make a login wake the compute and ask postgres).
    public func withServer<T: Sendable>(
        on path: String, maintenancePort: @escaping @Sendable () async throws -> Int, _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        try await withDirectory(path) { [driver] in
            if let port = try await self.runningPort(on: path) { return try await body(port) }
            guard driver.exists(path) else { throw ComputeError("There is no data at \(path) yet.") }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let spec = ServerSpec(id: Self.maintenancePrefix + name, dataDirectory: path, port: try await maintenancePort(), settings: [:])
            let suspended = driver.isSuspended(path)
            if suspended { driver.setSuspended(path, true, verifiers: nil) }
            try await driver.start(spec)
            do {
                let result = try await body(spec.port)
                if suspended { driver.setSuspended(path, true, verifiers: try? await driver.loginVerifiers(port: spec.port)) }
                await driver.stop(id: spec.id)
                return result
            } catch {
                await driver.stop(id: spec.id)
                throw error
            }
        }
    }
}
