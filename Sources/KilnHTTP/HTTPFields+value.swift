public import HTTPTypes

extension HTTPFields {
    /// What `self[name]` gives (the field's values joined with ", ", or "; " for Cookie; nil when it is
    /// absent), found without that subscript's generic lazy join, which is not specialised here and cost
    /// 1 % of a get-status each time a header was read. Most fields have one value, returned as it is,
    /// without the array of values `self[values:]` makes (a get-status reads six fields).
    public func value(_ name: HTTPField.Name) -> String? {
        guard let first = firstIndex(where: { $0.name == name }) else { return nil }
        guard let second = self[index(after: first)...].firstIndex(where: { $0.name == name }) else { return self[first].value }
        var joined = self[first].value
        let separator = name == .cookie ? "; " : ", "
        for field in self[second...] where field.name == name {
            joined += separator
            joined += field.value
        }
        return joined
    }
}
