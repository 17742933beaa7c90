import Foundation
public import KilnCore

/// The checks Databricks makes on Account API configurations. Failures are `MALFORMED_REQUEST` with
/// `Failed parameter validation checks: …`, as the real service answers.
public enum AccountValidation {
    /// The AWS regions Databricks serves workspaces in.
    public static let supportedRegions: Set<String> = [
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
        "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
        "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-northeast-1", "ap-northeast-2",
    ]

    static func failed(_ reason: String) -> KilnError {
        KilnError(.malformedRequest, "Failed parameter validation checks: \(reason)")
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    static func requiredString(_ body: JSONTree, _ path: [String]) throws(KilnError) -> String {
        var value: JSONTree? = body
        for key in path { value = value?[key] }
        guard let text = value?.stringValue, !text.isEmpty else {
            throw failed("\(path.joined(separator: ".")) is required.")
        }
        return text
    }

    static func stringList(_ body: JSONTree, _ key: String) throws(KilnError) -> [String] {
        guard let value = body[key], !value.isNull else { return [] }
        guard let array = value.arrayValue else { throw failed("\(key) must be a list of strings.") }
        var result: [String] = []
        for item in array {
            guard let text = item.stringValue else { throw failed("\(key) must be a list of strings.") }
            result.append(text)
        }
        return result
    }

    static func region(_ value: String) throws(KilnError) {
        guard supportedRegions.contains(value) else {
            throw failed("region \(value) is not supported. Supported regions: \(supportedRegions.sorted().joined(separator: ", ")).")
        }
    }

    static func roleARN(_ value: String) throws(KilnError) {
        guard matches(value, #"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"#) else {
            throw failed("role_arn \(value) is not a valid IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>).")
        }
    }

    static func bucketName(_ value: String) throws(KilnError) {
        guard (3...63).contains(value.count), matches(value, #"^[a-z0-9][a-z0-9.-]*[a-z0-9]$"#),
            !value.contains(".."), !matches(value, #"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"#)
        else {
            throw failed(
                "bucket_name \(value) is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)."
            )
        }
    }

    /// Checks a create request of `kind` and returns the body with the defaults Databricks fills in.
    public static func validate(_ kind: AccountResourceKind, body: JSONTree, accountID: String) throws(KilnError) -> JSONTree {
        guard case .object = body else { throw KilnError(.malformedRequest, "The request body must be a JSON object.") }
        var body = body
        if let nameField = kind.nameField { _ = try requiredString(body, [nameField]) }
        switch kind {
        case .credentials:
            try roleARN(try requiredString(body, ["aws_credentials", "sts_role", "role_arn"]))
            var stsRole = body["aws_credentials"]!["sts_role"]!
            stsRole.set("external_id", .string(accountID))
            body.set("aws_credentials", .object([.init("sts_role", stsRole)]))
        case .storageConfigurations:
            try bucketName(try requiredString(body, ["root_bucket_info", "bucket_name"]))
            if let role = body["role_arn"]?.stringValue { try roleARN(role) }
        case .networks:
            if body["gcp_network_info"] == nil || body["gcp_network_info"]!.isNull {
                let vpc = try requiredString(body, ["vpc_id"])
                guard matches(vpc, #"^vpc-[0-9a-f]{8,17}$"#) else { throw failed("vpc_id \(vpc) is not a valid VPC id (vpc-<hex>).") }
                let subnets = try stringList(body, "subnet_ids")
                guard subnets.count >= 2 else { throw failed("a network needs at least two subnet_ids, in different availability zones.") }
                guard Set(subnets).count == subnets.count else { throw failed("subnet_ids must not repeat.") }
                for subnet in subnets where !matches(subnet, #"^subnet-[0-9a-f]{8,17}$"#) {
                    throw failed("subnet id \(subnet) is not valid (subnet-<hex>).")
                }
                let groups = try stringList(body, "security_group_ids")
                guard (1...5).contains(groups.count) else { throw failed("a network needs between one and five security_group_ids.") }
                for group in groups where !matches(group, #"^sg-[0-9a-f]{8,17}$"#) {
                    throw failed("security group id \(group) is not valid (sg-<hex>).")
                }
            }
            body.set("vpc_status", .string("UNATTACHED"))
        case .customerManagedKeys:
            let useCases = try stringList(body, "use_cases")
            guard !useCases.isEmpty else { throw failed("use_cases is required: MANAGED_SERVICES, STORAGE or both.") }
            for useCase in useCases where !["MANAGED_SERVICES", "STORAGE"].contains(useCase) {
                throw failed("use case \(useCase) is not one of MANAGED_SERVICES, STORAGE.")
            }
            let arn = try requiredString(body, ["aws_key_info", "key_arn"])
            guard let match = arn.firstMatch(of: #/^arn:aws(?:-[a-z]+)*:kms:([a-z0-9-]+):[0-9]{12}:key/[0-9a-fA-F-]{1,128}$/#) else {
                throw failed("key_arn \(arn) is not a valid KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>).")
            }
            let keyRegion = String(match.1)
            try region(keyRegion)
            var keyInfo = body["aws_key_info"]!
            if let given = keyInfo["key_region"]?.stringValue, given != keyRegion {
                throw failed("key_region \(given) does not match the region of key_arn (\(keyRegion)).")
            }
            keyInfo.set("key_region", .string(keyRegion))
            body.set("aws_key_info", keyInfo)
        case .privateAccessSettings:
            try region(try requiredString(body, ["region"]))
            let level = body["private_access_level"]?.stringValue ?? "ACCOUNT"
            guard ["ACCOUNT", "ENDPOINT"].contains(level) else {
                throw failed("private_access_level \(level) is not one of ACCOUNT, ENDPOINT.")
            }
            body.set("private_access_level", .string(level))
            if body["public_access_enabled"] == nil { body.set("public_access_enabled", .bool(false)) }
            _ = try stringList(body, "allowed_vpc_endpoint_ids")
        case .vpcEndpoints:
            if let endpoint = body["aws_vpc_endpoint_id"]?.stringValue {
                guard matches(endpoint, #"^vpce-[0-9a-f]{8,17}$"#) else {
                    throw failed("aws_vpc_endpoint_id \(endpoint) is not a valid VPC endpoint id (vpce-<hex>).")
                }
                try region(try requiredString(body, ["region"]))
                body.set("state", .string("available"))
                body.set("use_case", .string("WORKSPACE_ACCESS"))
            }
        }
        return body
    }
}
