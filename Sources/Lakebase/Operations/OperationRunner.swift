import KilnCore
import Logging
import Persistence
import ServiceLifecycle
import Synchronization

/// Runs operations in the background, one at a time per project, records how each ended, and lets
/// callers wait for one. At start-up it runs again whatever a previous Kiln left unfinished.
final class OperationRunner: Sendable {
    private let database: any Database
    private let logger: Logger
    private let performer: any OperationPerformer
    private let onResumed: @Sendable () -> Void
    private let projectLocks = KeyedLocks()
    private let board = CompletionBoard()
    /// Operations queued or running: one found unfinished at start-up may also have just been submitted.
    private let inFlight = Mutex<Set<String>>([])
    /// Operations whose record could not be read lately, with how many times in a row.
    private let readFailures = Mutex<[String: Int]>([:])
    private let queue: AsyncStream<OperationRecord>
    private let queueContinuation: AsyncStream<OperationRecord>.Continuation

    private let activation: AsyncStream<Void>
    private let activationContinuation: AsyncStream<Void>.Continuation

    /// `onResumed` is called once the performer has resumed (the start's work is done), before the
    /// operations a previous run left are queued.
    init(database: any Database, performer: any OperationPerformer, logger: Logger, onResumed: @escaping @Sendable () -> Void = {}) {
        self.database = database
        self.performer = performer
        self.onResumed = onResumed
        self.logger = logger
        (queue, queueContinuation) = AsyncStream.makeStream()
        (activation, activationContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Lets `run` begin: the schema is in place.
    func activate() { activationContinuation.yield() }

    /// Queues a stored operation, unless it is queued or running already.
    func submit(_ operation: OperationRecord) {
        guard inFlight.withLock({ $0.insert(operation.name).inserted }) else { return }
        queueContinuation.yield(operation)
    }

    /// Once activated: lets the performer resume, queues what a previous run left unfinished, then runs
    /// operations as they come, and `sweep` every `interval` (when given), until graceful shutdown.
    func run(sweepingEvery interval: Duration?, _ sweep: @escaping @Sendable () async -> Void) async throws {
        var activations = activation.cancelOnGracefulShutdown().makeAsyncIterator()
        guard await activations.next() != nil else { return }
        await performer.resume()
        onResumed()
        for operation in try await database.read({ db in try await OperationTable.pending(db) }) {
            submit(operation)
        }
        await withDiscardingTaskGroup { group in
            if let interval {
                group.addTask {
                    while (try? await Task.sleep(for: interval)) != nil { await sweep() }
                }
            }
            for await operation in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.perform(operation) }
            }
            group.cancelAll()
        }
    }

    private func perform(_ operation: OperationRecord) async {
        // The start-up scan may find an operation submitted (and even finished) since: run it once. One
        // that cannot be read is not run blind: at shutdown the next start runs it, otherwise it is tried again.
        let stored: OperationRecord?
        do {
            stored = try await database.read { db in
                try await OperationTable.get(db, workspaceID: operation.workspaceID, name: operation.name)
            }
        } catch {
            inFlight.withLock { _ = $0.remove(operation.name) }
            guard !Task.isCancelled else { return }
            // 1 s, doubling to a minute: a database that is away for long is not asked every second.
            let failures = readFailures.withLock { failures in
                failures[operation.name, default: 0] += 1
                return failures[operation.name]!
            }
            let delay = Duration.seconds(min(60, 1 << min(failures - 1, 6)))
            logger.error(
                "Cannot read an operation before running it; trying again",
                metadata: ["operation": "\(operation.name)", "error": "\(error)", "retry_in": "\(delay)"])
            try? await Task.sleep(for: delay)
            if !Task.isCancelled { submit(operation) }
            return
        }
        _ = readFailures.withLock { $0.removeValue(forKey: operation.name) }
        // Done already, or gone with its workspace: nothing to do.
        guard let stored, !stored.done else {
            inFlight.withLock { _ = $0.remove(operation.name) }
            return
        }
        let lockKey = "\(operation.workspaceID)/\(operation.resource.projectID)"
        let result: JSONTree
        do {
            let response = try await projectLocks.withLock(lockKey) { try await self.performer.perform(operation) }
            var body = response ?? .object([])
            if operation.kind.answersEmpty || response == nil {
                body = .object([.init("@type", .string("type.googleapis.com/google.protobuf.Empty"))])
            } else if case .object(let members) = body {
                body = .object(
                    [.init("@type", .string("type.googleapis.com/databricks.postgres.v1.\(operation.kind.metadataType ?? operation.resource.kind.typeName)"))]
                        + members)
            }
            result = .object([.init("response", body)])
        } catch {
            if Task.isCancelled { // shutting down: the next start runs it again
                inFlight.withLock { _ = $0.remove(operation.name) }
                return
            }
            let kilnError = error as? KilnError
            if kilnError == nil {
                logger.error("Operation failed", metadata: ["operation": "\(operation.name)", "error": "\(error)"])
            }
            result = .object([.init("error", (kilnError ?? KilnError(.internalError, "\(error)")).envelope)])
        }
        do {
            try await database.write { db in try await OperationTable.finish(db, operation, result: result) }
        } catch {
            logger.error("Cannot record the end of an operation", metadata: ["operation": "\(operation.name)", "error": "\(error)"])
        }
        inFlight.withLock { _ = $0.remove(operation.name) }
        board.complete(operation.name)
        if result["error"] == nil { await performer.followUp(operation) }
    }

    /// Waits until the operation is done or `timeout` passes; returns the operation as it is then.
    func wait(workspaceID: Int64, name: String, timeout: Duration) async throws -> OperationRecord? {
        let read = { @Sendable in try await self.database.read { db in try await OperationTable.get(db, workspaceID: workspaceID, name: name) } }
        let ticket = board.ticket()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.board.wait(name, ticket: ticket) }
            group.addTask {
                if (try? await read())?.done ?? true {
                    self.board.resolve(name, ticket: ticket)
                    return
                }
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
