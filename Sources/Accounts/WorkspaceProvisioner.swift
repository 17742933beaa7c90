import KilnCore
public import Logging
public import Persistence
import SQLKit
public import ServiceLifecycle

/// The background step of workspace creation: every PROVISIONING workspace gets its storage area and
/// becomes RUNNING, or FAILED with the reason. Each `wake()` starts a pass; the application wakes it once
/// after migrations at start-up, so a Kiln that stopped in the middle of provisioning finishes (or fails)
/// it cleanly.
public struct WorkspaceProvisioner: Service {
    let database: any Database
    let storage: WorkspaceStorage
    let resources: AccountResourceStore
    let logger: Logger
    /// Fills a newly provisioned workspace (its first folders) before it is marked RUNNING.
    let prepare: @Sendable (Workspace) async throws -> Void
    private let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init(
        database: any Database, storage: WorkspaceStorage, logger: Logger,
        prepare: @escaping @Sendable (Workspace) async throws -> Void = { _ in }
    ) {
        self.prepare = prepare
        self.database = database
        self.storage = storage
        self.resources = AccountResourceStore(database: database)
        self.logger = logger
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a provisioning pass as soon as possible.
    public func wake() {
        continuation.yield()
    }

    public func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            await provisionPending()
        }
    }

    /// Provisions every workspace that is PROVISIONING now.
    public func provisionPending() async {
        do {
            let pending = try await database.read { db in
                try await db.select().column("*").from("workspaces").where("workspace_status", .equal, "PROVISIONING")
                    .all().map(AccountWorkspaces.Row.init(row:))
            }
            for row in pending { try await provision(row) }
        } catch {
            // Kiln stopping cancels a pass: the next start provisions what is left.
            guard !Task.isCancelled, !(error is CancellationError) else { return }
            logger.error("Workspace provisioning pass failed", metadata: ["error": "\(error)"])
        }
    }

    private func provision(_ row: AccountWorkspaces.Row) async throws {
        let workspace = row.workspace
        var status = "RUNNING"
        var message = "Workspace is running."
        do {
            guard let storageID = row.config["storage_configuration_id"]?.stringValue else {
                throw KilnError(.invalidState, "The workspace has no storage configuration.")
            }
            let bucket = try await resources.bucket(ofStorageConfiguration: storageID, accountID: workspace.accountID)
            if let credentialsID = row.config["credentials_id"]?.stringValue {
                _ = try await resources.get(.credentials, accountID: workspace.accountID, id: credentialsID)
            }
            try storage.provision(bucket: bucket, workspaceID: workspace.workspaceID)
            // An update of a running workspace re-checks what it refers to; its contents are the user's.
            if workspace.statusMessage != Workspace.updatingMessage { try await prepare(workspace) }
        } catch let error as KilnError {
            status = "FAILED"
            message = "Workspace provisioning failed: \(error.message)"
        } catch {
            // Not the user's fault (a database or file system error): the workspace fails with it all the
            // same, rather than staying PROVISIONING and stopping the pass for the workspaces after it.
            logger.error("Workspace provisioning failed", metadata: ["workspace_id": "\(workspace.workspaceID)", "error": "\(error)"])
            status = "FAILED"
            message = "Workspace provisioning failed: \(error)"
        }
        let (finalStatus, finalMessage) = (status, message)
        try await database.write(lockKey: workspace.workspaceID) { db in
            try await db.update("workspaces")
                .set("workspace_status", to: finalStatus).set("workspace_status_message", to: finalMessage)
                .where("workspace_id", .equal, workspace.workspaceID).where("workspace_status", .equal, "PROVISIONING")
                .run()
        }
        logger.info("Provisioned workspace", metadata: ["workspace_id": "\(workspace.workspaceID)", "status": "\(status)"])
    }
}
