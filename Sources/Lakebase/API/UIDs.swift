import KilnCore

/// System-generated ids in Lakebase's shapes: projects get a UUID, branches `br-<adjective>-<noun>-<8>`,
/// endpoints `ep-<adjective>-<noun>-<8>` (the endpoint's uid is its host name's first label), snapshots
/// `snap-<adjective>-<noun>-<8>` (as Neon's).
enum UIDs {
    static let adjectives = [
        "autumn", "bold", "calm", "cool", "crimson", "damp", "dry", "fancy", "floral", "gentle",
        "icy", "late", "lively", "misty", "morning", "noisy", "old", "plain", "proud", "quiet",
        "rapid", "red", "rough", "shy", "silent", "small", "snowy", "solitary", "still", "sweet",
        "twilight", "wandering", "wild", "winter", "wispy", "young",
    ]
    static let nouns = [
        "base", "bird", "breeze", "brook", "butterfly", "cherry", "cloud", "dawn", "dew", "dream",
        "dust", "feather", "field", "fire", "flower", "fog", "forest", "frost", "glade", "grass",
        "haze", "hill", "lake", "leaf", "meadow", "moon", "morning", "night", "paper", "pine",
        "pond", "rain", "river", "sea", "shadow", "sky", "smoke", "snow", "star", "sun", "surf",
        "thunder", "tree", "violet", "water", "wave", "wind", "wood",
    ]
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    static func make(_ kind: ResourceKind) -> String {
        switch kind {
        case .project: return IdentifierGenerator.uuid()
        case .branch: return "br-" + words()
        case .endpoint: return "ep-" + words()
        case .snapshot: return "snap-" + words()
        case .role, .database: return IdentifierGenerator.uuid()
        }
    }

    static func words() -> String {
        let suffix = RandomSecret.string(8, from: alphabet)
        return "\(adjectives.randomElement()!)-\(nouns.randomElement()!)-\(suffix)"
    }

    /// A generated role or database id: `<prefix>-` and 8 characters.
    static func shortID(_ prefix: String) -> String {
        prefix + "-" + RandomSecret.string(8, from: alphabet)
    }
}
