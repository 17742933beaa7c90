/// The configuration resources of the Account API, each under `/api/2.0/accounts/{account_id}/<path>`.
public enum AccountResourceKind: String, Sendable, CaseIterable {
    case credentials
    case storageConfigurations = "storage-configurations"
    case networks
    case customerManagedKeys = "customer-managed-keys"
    case privateAccessSettings = "private-access-settings"
    case vpcEndpoints = "vpc-endpoints"

    /// The URL path segment.
    public var pathSegment: String { rawValue }

    /// The field that holds the resource's id.
    public var idField: String {
        switch self {
        case .credentials: "credentials_id"
        case .storageConfigurations: "storage_configuration_id"
        case .networks: "network_id"
        case .customerManagedKeys: "customer_managed_key_id"
        case .privateAccessSettings: "private_access_settings_id"
        case .vpcEndpoints: "vpc_endpoint_id"
        }
    }

    /// The field that holds the resource's name, unique per account; keys have none.
    public var nameField: String? {
        switch self {
        case .credentials: "credentials_name"
        case .storageConfigurations: "storage_configuration_name"
        case .networks: "network_name"
        case .customerManagedKeys: nil
        case .privateAccessSettings: "private_access_settings_name"
        case .vpcEndpoints: "vpc_endpoint_name"
        }
    }

    /// A readable name for messages.
    public var noun: String {
        switch self {
        case .credentials: "Credential configuration"
        case .storageConfigurations: "Storage configuration"
        case .networks: "Network configuration"
        case .customerManagedKeys: "Customer-managed key configuration"
        case .privateAccessSettings: "Private access settings"
        case .vpcEndpoints: "VPC endpoint configuration"
        }
    }

    /// The workspace fields that may reference a resource of this kind.
    public var workspaceFields: [String] {
        switch self {
        case .credentials: ["credentials_id"]
        case .storageConfigurations: ["storage_configuration_id"]
        case .networks: ["network_id"]
        case .customerManagedKeys: ["managed_services_customer_managed_key_id", "storage_customer_managed_key_id"]
        case .privateAccessSettings: ["private_access_settings_id"]
        case .vpcEndpoints: []
        }
    }
}
