import Accounts
import Foundation
import KilnCore
import Logging
import Persistence
import Testing

@Suite struct AccountValidationTests {
    static func body(_ json: String) throws -> JSONTree { try JSONTree.parse(Array(json.utf8)) }

    @Test(arguments: [
        (AccountResourceKind.credentials, #"{"credentials_name":"c","aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}}"#, true),
        (.credentials, #"{"credentials_name":"c","aws_credentials":{"sts_role":{"role_arn":"arn:aws:s3:::bucket"}}}"#, false),
        (.credentials, #"{"aws_credentials":{"sts_role":{"role_arn":"arn:aws:iam::123456789012:role/r"}}}"#, false),
        (.storageConfigurations, #"{"storage_configuration_name":"s","root_bucket_info":{"bucket_name":"ok-bucket.1"}}"#, true),
        (.storageConfigurations, #"{"storage_configuration_name":"s","root_bucket_info":{"bucket_name":"-bad"}}"#, false),
        (.storageConfigurations, #"{"storage_configuration_name":"s","root_bucket_info":{"bucket_name":"192.168.0.1"}}"#, false),
        (
            .networks, #"{"network_name":"n","vpc_id":"vpc-0123abcd","subnet_ids":["subnet-0123abcd","subnet-1123abcd"],"security_group_ids":["sg-0123abcd"]}"#,
            true
        ),
        (
            .networks, #"{"network_name":"n","vpc_id":"vpc-0123abcd","subnet_ids":["subnet-0123abcd","subnet-0123abcd"],"security_group_ids":["sg-0123abcd"]}"#,
            false
        ),
        (.networks, #"{"network_name":"n","vpc_id":"vpc-0123abcd","subnet_ids":["subnet-0123abcd","subnet-1123abcd"],"security_group_ids":[]}"#, false),
        (.customerManagedKeys, #"{"use_cases":["STORAGE"],"aws_key_info":{"key_arn":"arn:aws:kms:us-west-2:123456789012:key/abcd-12"}}"#, true),
        (.customerManagedKeys, #"{"use_cases":[],"aws_key_info":{"key_arn":"arn:aws:kms:us-west-2:123456789012:key/abcd-12"}}"#, false),
        (.privateAccessSettings, #"{"private_access_settings_name":"p","region":"eu-west-1","private_access_level":"ENDPOINT"}"#, true),
        (.privateAccessSettings, #"{"private_access_settings_name":"p","region":"eu-west-1","private_access_level":"ALL"}"#, false),
        (.vpcEndpoints, #"{"vpc_endpoint_name":"v","aws_vpc_endpoint_id":"vpce-0123abcd","region":"us-east-1"}"#, true),
        (.vpcEndpoints, #"{"vpc_endpoint_name":"v","aws_vpc_endpoint_id":"endpoint","region":"us-east-1"}"#, false),
    ])
    func rules(kind: AccountResourceKind, json: String, valid: Bool) throws {
        let body = try Self.body(json)
        if valid {
            _ = try AccountValidation.validate(kind, body: body, accountID: "acc")
        } else {
            #expect(throws: KilnError.self) { try AccountValidation.validate(kind, body: body, accountID: "acc") }
        }
    }

    @Test func keyRegionComesFromTheARN() throws {
        let body = try Self.body(#"{"use_cases":["STORAGE"],"aws_key_info":{"key_arn":"arn:aws:kms:eu-central-1:123456789012:key/ab"}}"#)
        let validated = try AccountValidation.validate(.customerManagedKeys, body: body, accountID: "acc")
        #expect(validated["aws_key_info"]?["key_region"]?.stringValue == "eu-central-1")
    }
}
