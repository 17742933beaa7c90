import Accounts
import Compute
import ComputeTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KilnCore
import KilnHTTP
import Lakebase
import Logging
import NIOCore
import Persistence
import PersistenceTestSupport
import Prometheus
import Testing
import WorkspaceFiles

/// Kiln's HTTP edge in process, wired as `buildApplication` wires it — `buildResponder`'s router behind
/// `TenantResponder` and `WorkspacePathPrefix`, the domain stores, a running Lakebase service — on a fresh migrated SQLite
/// database, with computes from `FakeComputeDriver` (no PostgreSQL needed). The store is bootstrapped as
/// on a first start: an account, its admin, the default workspace, and a token of the admin.
///
/// Workspaces created through the Account API stay PROVISIONING until a test calls
/// `provisionWorkspaces()`, so a test can see a workspace that is not serving yet.
struct TestServer: Sendable {
    /// How a request authenticates.
    enum Auth: Sendable {
        case none
        /// The admin's personal access token of the default workspace.
        case adminToken
        case bearer(String)
        case basic(String, String)
        /// A raw `Authorization` header value.
        case header(String)
    }

    static let adminUserName = "admin@example.com"
    static let adminPassword = "correct horse battery staple"
    /// Basic auth of the admin; only for servers started with `password: true`.
    static let adminBasic = Auth.basic(adminUserName, adminPassword)

    let client: any TestClientProtocol
    let services: KilnServices
    let provisioner: WorkspaceProvisioner
    let account: Account
    let admin: User
    let workspace: Workspace
    let adminToken: String

    var accountID: String { account.accountID }

    /// Runs `body` against a new server. `password: true` gives the admin `adminPassword` (a PBKDF2 hash
    /// costs tens of milliseconds, so only tests of Basic auth ask for it).
    static func run(password: Bool = false, _ body: @Sendable (TestServer) async throws -> Void) async throws {
        try await TestDatabases.with(.sqlite) { database in
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-http-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: root) }
            let logger = Logger(label: "kiln-http-test") { _ in SwiftLogNoOpLogHandler() }

            let accounts = AccountStore(database: database)
            let tokens = TokenStore(database: database)
            let files = WorkspaceService(database: database)
            let storage = WorkspaceStorage(root: root + "/storage")
            let provisioner = WorkspaceProvisioner(database: database, storage: storage, logger: logger)
            let lakebase = LakebaseService(
                database: database, computes: DataDirectoryOwner(driver: FakeComputeDriver()),
                storageArea: { "\(root)/workspaces/\($0)" }, sweepInterval: .seconds(3600), logger: logger)
            let services = KilnServices(
                accounts: accounts, tokens: tokens, workspaceFiles: files,
                accountResources: AccountResourceStore(database: database),
                accountWorkspaces: AccountWorkspaces(database: database, storage: storage),
                servicePrincipals: ServicePrincipals(database: database), lakebase: lakebase,
                metrics: PrometheusCollectorRegistry())

            let (account, admin, workspace) = try #require(try await accounts.bootstrap(adminUserName: adminUserName))
            let (token, _) = try await tokens.create(
                workspaceID: workspace.workspaceID, userID: admin.userID, comment: "test admin", lifetimeSeconds: nil)
            if password { try await accounts.setPassword(userID: admin.userID, password: adminPassword) }
            try await files.mkdirs(workspaceID: workspace.workspaceID, path: WorkspacePath("/Users/\(adminUserName)"))

            let app = Application(responder: HostAsAuthority(buildResponder(services: services)), logger: logger)
            try await withThrowingTaskGroup { group in
                defer { group.cancelAll() }
                group.addTask { try await lakebase.run() }
                lakebase.activate()
                try await app.test(.router) { client in
                    try await body(
                        TestServer(
                            client: client, services: services, provisioner: provisioner, account: account, admin: admin,
                            workspace: workspace, adminToken: token))
                }
            }
        }
    }

    // MARK: - Requests

    /// Sends a request; `json` is the body text (sent as `application/json` unless `headers` say otherwise).
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, body: ByteBuffer? = nil,
        headers: HTTPFields = [:], auth: Auth = .adminToken
    ) async throws -> Reply {
        var headers = headers
        switch auth {
        case .none: break
        case .adminToken: headers[.authorization] = "Bearer \(adminToken)"
        case .bearer(let token): headers[.authorization] = "Bearer \(token)"
        case .basic(let user, let password):
            headers[.authorization] = "Basic \(Data("\(user):\(password)".utf8).base64EncodedString())"
        case .header(let value): headers[.authorization] = value
        }
        var body = body
        if let json {
            body = ByteBuffer(string: json)
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
        }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        return Reply(status: response.status, headers: response.headers, bytes: Array(response.body.readableBytesView))
    }

    /// `/api/2.0/accounts/<this account>/<path>`.
    func accountPath(_ path: String) -> String { "/api/2.0/accounts/\(accountID)/\(path)" }

    // MARK: - Fixtures

    /// A user of the account (not an admin), assigned to the default workspace, and a token of theirs there.
    func createUser(_ userName: String) async throws -> (User, token: String) {
        let user = try await services.accounts.createUser(accountID: accountID, userName: userName, displayName: userName)
        try await services.accounts.assignments.set(workspaceID: workspace.workspaceID, principalID: user.userID, permission: .user)
        let (token, _) = try await services.tokens.create(
            workspaceID: workspace.workspaceID, userID: user.userID, comment: "", lifetimeSeconds: nil)
        return (user, token)
    }

    /// A new token of the admin in `workspaceID`.
    func adminToken(in workspaceID: Int64) async throws -> String {
        try await services.tokens.create(workspaceID: workspaceID, userID: admin.userID, comment: "", lifetimeSeconds: nil).secret
    }

    /// Creates the credential and storage configurations a workspace needs, then the workspace, through
    /// the Account API. It stays PROVISIONING until `provisionWorkspaces()`.
    func createWorkspace(deploymentName: String) async throws -> Int64 {
        let credentials = try await call(
            .post, accountPath("credentials"),
            json: """
                {"credentials_name": "creds-\(deploymentName)",
                 "aws_credentials": {"sts_role": {"role_arn": "arn:aws:iam::123456789012:role/kiln"}}}
                """)
        let storage = try await call(
            .post, accountPath("storage-configurations"),
            json: """
                {"storage_configuration_name": "storage-\(deploymentName)", "root_bucket_info": {"bucket_name": "bucket-\(deploymentName)"}}
                """)
        let credentialsID = try #require(credentials["credentials_id"]?.stringValue)
        let storageID = try #require(storage["storage_configuration_id"]?.stringValue)
        let created = try await call(
            .post, accountPath("workspaces"),
            json: """
                {"workspace_name": "\(deploymentName)", "deployment_name": "\(deploymentName)", "aws_region": "us-east-1",
                 "credentials_id": "\(credentialsID)", "storage_configuration_id": "\(storageID)"}
                """)
        #expect(created.status == .ok, "\(created.text)")
        return try #require(created["workspace_id"]?.int64Value)
    }

    /// Provisions every PROVISIONING workspace now (the provisioner the real app wakes).
    func provisionWorkspaces() async {
        await provisioner.provisionPending()
    }
}

/// A response, with its body read as JSON where it is JSON.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }
    var json: JSONTree? { try? JSONTree.parse(bytes) }
    /// The Databricks `error_code`.
    var errorCode: String? { json?["error_code"]?.stringValue }
    var message: String? { json?["message"]?.stringValue }

    subscript(key: String) -> JSONTree? { json?[key] }
}

extension JSONTree {
    /// An integer, written as a JSON number or as text.
    var int64Value: Int64? {
        switch self {
        case .number(let text), .string(let text): Int64(text)
        default: nil
        }
    }
}

/// What the HTTP/1 server does before the responder sees a request: the `Host` header becomes the
/// request's authority. (The router test client always sends the authority `localhost`.)
private struct HostAsAuthority<Responder: HTTPResponder>: HTTPResponder {
    let responder: Responder

    init(_ responder: Responder) {
        self.responder = responder
    }

    func respond(to request: Request, context: Responder.Context) async throws -> Response {
        guard let host = request.headers[.host] else { return try await responder.respond(to: request, context: context) }
        var head = request.head
        head.authority = host
        head.headerFields[.host] = nil
        return try await responder.respond(to: Request(head: head, body: request.body), context: context)
    }
}

extension HTTPField.Name {
    /// `Host`: HTTP/1's spelling of the authority.
    static let host = HTTPField.Name("Host")!
}
