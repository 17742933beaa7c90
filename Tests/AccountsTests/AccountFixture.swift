import Accounts
import Foundation
import KilnCore
import Persistence
import SQLKit
import Testing

/// Valid Account API bodies and the rows the store tests need around them.
enum AccountFixture {
    static func json(_ text: String) throws -> JSONTree { try JSONTree.parse(Array(text.utf8)) }

    /// A body of `kind` that passes validation, named `name` (keys have no name).
    static func body(_ kind: AccountResourceKind, name: String = "r1") throws -> JSONTree {
        switch kind {
        case .credentials:
            try json(#"{"credentials_name":"\#(name)","aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}}"#)
        case .storageConfigurations:
            try storage(name: name, bucket: "bucket-\(name)")
        case .networks:
            try json(
                #"{"network_name":"\#(name)","vpc_id":"vpc-0123abcd","subnet_ids":["subnet-0123abcd","subnet-1123abcd"],"security_group_ids":["sg-0123abcd"]}"#)
        case .customerManagedKeys:
            try key(useCases: #"["MANAGED_SERVICES","STORAGE"]"#)
        case .privateAccessSettings:
            try json(#"{"private_access_settings_name":"\#(name)","region":"eu-west-1"}"#)
        case .vpcEndpoints:
            try json(#"{"vpc_endpoint_name":"\#(name)","aws_vpc_endpoint_id":"vpce-0123abcd","region":"us-east-1"}"#)
        }
    }

    /// The integer a JSON number holds (workspace ids), or nil.
    static func integer(_ value: JSONTree?) -> Int64? {
        guard case .number(let text)? = value else { return nil }
        return Int64(text)
    }

    static func storage(name: String, bucket: String) throws -> JSONTree {
        try json(#"{"storage_configuration_name":"\#(name)","root_bucket_info":{"bucket_name":"\#(bucket)"}}"#)
    }

    static func key(useCases: String) throws -> JSONTree {
        try json(#"{"use_cases":\#(useCases),"aws_key_info":{"key_arn":"arn:aws:kms:us-west-2:123456789012:key/abcd-12"}}"#)
    }

    /// Adds a second account, for the checks that one account cannot see another's things.
    static func addAccount(_ database: any Database, id: String = "other-account") async throws -> String {
        try await database.write { db in
            try await db.insert(into: "accounts").columns("account_id", "account_name", "created_at")
                .values(SQLBind(id), SQLBind("Other"), SQLBind(Int64(1))).run()
        }
        return id
    }

    /// Adds a RUNNING workspace row directly, for tests that only need one to exist.
    static func addWorkspace(_ database: any Database, accountID: String, deploymentName: String) async throws -> Int64 {
        let id = IdentifierGenerator.next()
        try await database.write { db in
            try await db.insert(into: "workspaces")
                .columns("workspace_id", "account_id", "workspace_name", "deployment_name", "is_default", "workspace_status", "created_at")
                .values(
                    SQLBind(id), SQLBind(accountID), SQLBind(deploymentName), SQLBind(deploymentName), SQLBind(false),
                    SQLBind("RUNNING"), SQLBind(Int64(1))
                )
                .run()
        }
        return id
    }

    /// The code and message of the `KilnError` that `body` throws, or nil when it throws none.
    static func failure<T>(_ body: () async throws -> T) async -> (code: ErrorCode, message: String)? {
        do {
            _ = try await body()
            return nil
        } catch let error as KilnError {
            return (error.code, error.message)
        } catch {
            Issue.record("Expected a KilnError, got \(error)")
            return nil
        }
    }
}
