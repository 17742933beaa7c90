public import HTTPTypes

extension HTTPFields {
    /// What `self[name]` gives (the field's values joined with ", ", or "; " for Cookie; nil when it is
    /// absent), found without that subscript's generic lazy join, which is not specialised here and cost
    /// 1 % of a get-status each time a header was read. Most fields have one value, returned as it is.
    public func value(_ name: HTTPField.Name) -> String? {
        let values = self[values: name]
        switch values.count {
        case 0: return nil
        case 1: return values[0]
        default: return values.joined(separator: name == .cookie ? "; " : ", ")
        }
    }
}
