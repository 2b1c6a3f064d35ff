import AIVCore

/// Outputs shared by the list steps.
enum ListOutputs {
    static func schema(_ extra: [Property] = []) -> Schema {
        .object([
            Property("items", .array(.any), required: true, "The resulting list."),
            Property("count", .integer, required: true, "Its length."),
        ] + extra)
    }
}
