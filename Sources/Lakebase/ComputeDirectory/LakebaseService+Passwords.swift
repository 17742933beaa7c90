import Compute
import KilnCore
import Logging
import Persistence

/// Native-password logins at the proxy, checked against the roles' SCRAM secrets without waking a sleeping compute.
extension LakebaseService {
    /// Whether `password` is `role`'s native password, known without waking a suspended endpoint (as
    /// Neon's proxy authenticates before `wake_compute`): for a read-write endpoint from the verifiers kept
    /// when it was suspended; for a replica from its primary (whose roles it replays): the running
    /// primary's `pg_authid`, or the verifiers the suspended primary kept. False means refuse; nil means
    /// not known here (the endpoint runs, or nothing was kept), so wake it and ask postgres.
    public func checkKeptPassword(_ endpoint: ConnectableEndpoint, role: String, password: String) async throws -> Bool? {
        guard !(await reconciler.driver.isRunning(id: endpoint.uid)),
            let row = try await database.read({ db in try await ResourceTable.endpoint(db, uid: endpoint.uid) })
        else { return nil }
        var owner = row
        if let branch = endpoint.replicaOf {
            guard let (primary, runningPort) = try await primary(of: branch, ws: endpoint.workspaceID) else { return nil }
            if let runningPort {
                do {
                    return Self.matches(try await reconciler.driver.loginSecret(port: runningPort, role: role), password: password)
                } catch {
                    return nil // the primary is going away: wake the replica and ask it
                }
            }
            owner = primary
        }
        guard let verifiers = try await reconciler.keptVerifiers(of: owner) else { return nil }
        return Self.matches(verifiers[role], password: password)
    }

    /// Whether `password` is the native password of `role` on the running endpoint (checked against
    /// its SCRAM secret in `pg_authid`, as postgres would). A replica whose primary runs is checked
    /// against the primary, whose roles it replays: a replica that just woke may not have replayed a
    /// recent password change yet.
    public func checkNativePassword(_ endpoint: ConnectableEndpoint, role: String, password: String) async throws -> Bool {
        var port = endpoint.port
        if let branch = endpoint.replicaOf, let primaryPort = try await primary(of: branch, ws: endpoint.workspaceID)?.runningPort {
            port = primaryPort
        }
        return Self.matches(try await reconciler.driver.loginSecret(port: port, role: role), password: password)
    }

    /// A branch's read-write endpoint (a replica's primary) and its port when it runs.
    func primary(of branch: ResourceName, ws: Int64) async throws -> (endpoint: StoredResource, runningPort: Int?)? {
        guard let primary = try await reconciler.primary(of: branch, ws: ws) else { return nil }
        return (primary, await reconciler.driver.isRunning(id: primary.uid) ? primary.port : nil)
    }

    /// Whether `password` matches a role's stored SCRAM secret (nil or empty: not a role that may log in
    /// with a password); a password that matched the same secret lately is not derived again.
    static func matches(_ stored: String?, password: String) -> Bool {
        guard let stored, let secret = ScramSecret(stored) else { return false }
        if VerifiedPasswords.shared.contains(storedHash: stored, password: password) { return true }
        guard secret.matches(password) else { return false }
        VerifiedPasswords.shared.insert(storedHash: stored, password: password)
        return true
    }

    /// Checks a database credential (from `generate_database_credential`) presented by a login as `user`
    /// on `endpoint`: signed by this Kiln for this workspace and endpoint, not expired by the service's
    /// clock (checked at login only: open sessions continue, as in Lakebase), and issued to `user` or to a
    /// member of the group `user` names.
    public func checkCredential(_ token: String, endpoint: ConnectableEndpoint, user: String) async throws -> CredentialCheck {
        guard let claims = try await credentialVerifier().verify(token),
            claims.workspaceID == endpoint.workspaceID, claims.endpoint == endpoint.uid
        else { return .invalid }
        guard claims.expires * 1000 > clock.nowMillis() else { return .expired }
        if claims.subject == user { return .valid }
        // A group's role: any member logs in as it with their own credential.
        if try await identities(endpoint.workspaceID)[user] == "GROUP", try await groupMembers(endpoint.workspaceID, user).contains(claims.subject) {
            return .valid
        }
        return .issuedTo(claims.subject)
    }
}

/// What a database credential presented at the proxy is good for (`LakebaseService.checkCredential`).
public enum CredentialCheck: Sendable, Equatable {
    case valid
    /// Not a credential of this Kiln, or for another workspace or endpoint.
    case invalid
    case expired
    /// Good, but for another identity (named).
    case issuedTo(String)
}
