import KilnCore
import Logging
import Persistence
import ServiceLifecycle
import Synchronization

/// Runs operations in the background, one at a time per project, records how each ended, and lets
/// callers wait for one. At start-up it runs again whatever a previous Kiln left unfinished.
final class OperationRunner: Service {
    typealias Work = @Sendable (OperationRecord) async throws -> JSONTree?

    private let database: any Database
    private let logger: Logger
    private let work: Mutex<Work?> = Mutex(nil)
    private let beforeResume: Mutex<(@Sendable () async -> Void)?> = Mutex(nil)
    private let sweep: Mutex<(interval: Duration, body: @Sendable () async -> Void)?> = Mutex(nil)
    private let projectLocks = KeyedLocks()
    private let board = CompletionBoard()
    /// Operations queued or running: one found unfinished at start-up may also have just been submitted.
    private let inFlight = Mutex<Set<String>>([])
    private let queue: AsyncStream<OperationRecord>
    private let queueContinuation: AsyncStream<OperationRecord>.Continuation

    private let activation: AsyncStream<Void>
    private let activationContinuation: AsyncStream<Void>.Continuation

    init(database: any Database, logger: Logger) {
        self.database = database
        self.logger = logger
        (queue, queueContinuation) = AsyncStream.makeStream()
        (activation, activationContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Lets `run` begin: the schema is in place.
    func activate() { activationContinuation.yield() }

    /// Sets what performing an operation means (the service that owns the compute).
    func setWork(_ body: @escaping Work) { work.withLock { $0 = body } }

    /// Sets what to do at start-up before unfinished operations run again (start the computes).
    func setBeforeResume(_ body: @escaping @Sendable () async -> Void) { beforeResume.withLock { $0 = body } }

    /// Sets a job to run every `interval` once operations run (deleting what is due).
    func setSweep(every interval: Duration, _ body: @escaping @Sendable () async -> Void) {
        sweep.withLock { $0 = (interval, body) }
    }

    /// Queues a stored operation, unless it is queued or running already.
    func submit(_ operation: OperationRecord) {
        guard inFlight.withLock({ $0.insert(operation.name).inserted }) else { return }
        queueContinuation.yield(operation)
    }

    func run() async throws {
        var activations = activation.cancelOnGracefulShutdown().makeAsyncIterator()
        guard await activations.next() != nil else { return }
        if let beforeResume = beforeResume.withLock({ $0 }) { await beforeResume() }
        for operation in try await database.read({ db in try await OperationTable.pending(db) }) {
            submit(operation)
        }
        await withDiscardingTaskGroup { group in
            if let sweep = sweep.withLock({ $0 }) {
                group.addTask {
                    while (try? await Task.sleep(for: sweep.interval)) != nil { await sweep.body() }
                }
            }
            for await operation in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.perform(operation) }
            }
            group.cancelAll()
        }
    }

    private func perform(_ operation: OperationRecord) async {
        // The start-up scan may find an operation submitted (and even finished) since: run it once.
        let stored = try? await database.read { db in
            try await OperationTable.get(db, workspaceID: operation.workspaceID, name: operation.name)
        }
        if stored?.done ?? false {
            inFlight.withLock { _ = $0.remove(operation.name) }
            return
        }
        let lockKey = "\(operation.workspaceID)/\(operation.resource.projectID)"
        let result: JSONTree
        do {
            guard let work = work.withLock({ $0 }) else { throw KilnError(.internalError, "The operation runner has no work.") }
            let response = try await projectLocks.withLock(lockKey) { try await work(operation) }
            var body = response ?? .object([])
            if operation.kind.answersEmpty || response == nil {
                body = .object([.init("@type", .string("type.googleapis.com/google.protobuf.Empty"))])
            } else if case .object(let members) = body {
                body = .object([.init("@type", .string("type.googleapis.com/databricks.postgres.v1.\(operation.resource.kind.typeName)"))] + members)
            }
            result = .object([.init("response", body)])
        } catch {
            if Task.isCancelled {   // shutting down: the next start runs it again
                inFlight.withLock { _ = $0.remove(operation.name) }
                return
            }
            let kilnError = error as? KilnError
            if kilnError == nil {
                logger.error("Operation failed", metadata: ["operation": "\(operation.name)", "error": "\(error)"])
            }
            result = .object([.init("error", .object([
                .init("error_code", .string((kilnError?.code ?? .internalError).rawValue)),
                .init("message", .string(kilnError?.message ?? "\(error)")),
            ]))])
        }
        do {
            try await database.write { db in try await OperationTable.finish(db, operation, result: result) }
        } catch {
            logger.error("Cannot record the end of an operation", metadata: ["operation": "\(operation.name)", "error": "\(error)"])
        }
        inFlight.withLock { _ = $0.remove(operation.name) }
        board.complete(operation.name)
    }

    /// Waits until the operation is done or `timeout` passes; returns the operation as it is then.
    func wait(workspaceID: Int64, name: String, timeout: Duration) async throws -> OperationRecord? {
        let read = { @Sendable in try await self.database.read { db in try await OperationTable.get(db, workspaceID: workspaceID, name: name) } }
        let ticket = board.ticket()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.board.wait(name, ticket: ticket) }
            group.addTask {
                if (try? await read())?.done ?? true { self.board.resolve(name, ticket: ticket); return }
                try? await Task.sleep(for: timeout)
                self.board.resolve(name, ticket: ticket)
            }
            await group.next()
            group.cancelAll()
        }
        board.forget(ticket)
        return try await read()
    }
}

/// Continuations of callers waiting for operations, by operation name.
final class CompletionBoard: Sendable {
    private struct State {
        var nextTicket = 0
        var waiters: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        /// Tickets resolved before their waiter registered.
        var resolvedEarly: Set<Int> = []
    }

    private let state = Mutex(State())

    func ticket() -> Int {
        state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
    }

    func wait(_ name: String, ticket: Int) async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.resolvedEarly.remove(ticket) != nil { return true }
                state.waiters[name, default: [:]][ticket] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Releases one waiter (its timeout passed, or the operation was already done).
    func resolve(_ name: String, ticket: Int) {
        let continuation = state.withLock { state in
            if let continuation = state.waiters[name]?.removeValue(forKey: ticket) { return Optional(continuation) }
            state.resolvedEarly.insert(ticket)
            return nil
        }
        continuation?.resume()
    }

    /// Drops what is left of a finished wait.
    func forget(_ ticket: Int) {
        _ = state.withLock { $0.resolvedEarly.remove(ticket) }
    }

    /// Releases everyone waiting for `name`.
    func complete(_ name: String) {
        let continuations = state.withLock { $0.waiters.removeValue(forKey: name).map { Array($0.values) } ?? [] }
        for continuation in continuations { continuation.resume() }
    }
}
