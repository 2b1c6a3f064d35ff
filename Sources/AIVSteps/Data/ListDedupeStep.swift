import AIVCore

/// `list.dedupe`: one element per key, e.g. one vocabulary entry per expression across chunks.
public struct ListDedupeStep: Step {
    public init() {}

    public static let kind = StepKindDescription(
        name: "list.dedupe",
        version: 2,  // 2: normalized keys composed (NFC) after the katakana folding
        summary: "Drop elements whose key was seen before, optionally gathering fields of the duplicates.",
        discussion: """
            With `normalize` (the default) text keys compare after Unicode NFKC, lower-casing, reading katakana as \
            hiragana, trimming and collapsing inner whitespace, so 'ﾔﾊﾞｲ' and ' ヤバい ' are one key; other keys compare \
            as values (1 and 1.0 are one key). Elements whose key is missing or null are kept, never merged. The \
            survivor keeps its place; each `collect` field on it becomes the list of that field's values from every \
            duplicate, in order (lists are concatenated, nulls skipped).
            """,
        arguments: [
            Property("items", .array(.any), required: true, "The list."),
            Property("key", .string, required: true, role: .fieldPath, "The field path that identifies an element, e.g. japanese."),
            Property("normalize", .boolean, default: true, "Compare text keys after NFKC, lower-casing, katakana-to-hiragana, trimming and whitespace collapsing."),
            Property("keep", .oneOfStrings(["first", "last"]), default: "first", "Which duplicate survives."),
            Property("collect", .array(.string), default: [], role: .fieldPath, "Fields whose values from all duplicates are gathered into a list on the survivor."),
        ],
        outputs: ListOutputs.schema([Property("duplicates", .integer, required: true, "How many elements were merged away.")]),
        example: """
            - id: unique
              uses: list.dedupe
              with:
                items: ${{ steps.found.outputs.items }}
                key: japanese
                collect: [start]
            """,
        listShapedOutput: .init(fieldsListedBy: "collect"))

    public func run(_ arguments: StepArguments, context: StepContext) async throws -> StepResult {
        let items = try arguments.list("items")
        let path = try FieldPath(try arguments.string("key"), argument: "key")
        let normalize = try arguments.bool("normalize", default: true)
        let keep = try arguments.optionalString("keep") ?? "first"
        guard keep == "first" || keep == "last" else { throw StepError.argument("keep", "must be first or last, not '\(keep)'") }
        let collect = try (arguments["collect"] == nil ? [] : arguments.list("collect")).enumerated().map { i, field throws(StepError) in
            guard case .string(let name) = field, !name.isEmpty else {
                throw StepError.argument("collect", "must be a list of field names; item \(i) is \(field.typeName)")
            }
            return name
        }

        // Group positions by key; an element without a key is a group of its own.
        var groups: [[Int]] = []
        var groupOfKey: [DedupeKey: Int] = [:]
        for (offset, item) in items.enumerated() {
            if offset % 1024 == 0 { try Task.checkCancellation() }
            guard let key = DedupeKey(path.value(in: item), normalize: normalize) else {
                groups.append([offset])
                continue
            }
            if let group = groupOfKey[key] {
                groups[group].append(offset)
            } else {
                groupOfKey[key] = groups.count
                groups.append([offset])
            }
        }

        // The survivor keeps its own place: the first duplicate's, or with keep: last the last one's.
        var survivors: [(offset: Int, value: JSONValue)] = []
        survivors.reserveCapacity(groups.count)
        for group in groups {
            let offset = keep == "first" ? group.first! : group.last!
            var survivor = items[offset]
            if !collect.isEmpty, case .object(var members) = survivor {
                for field in collect {
                    var gathered: [JSONValue] = []
                    for member in group {
                        switch items[member][field] {
                        case nil, .null?: continue
                        case .array(let values)?: gathered.append(contentsOf: values)
                        case let value?: gathered.append(value)
                        }
                    }
                    members[field] = .array(gathered)
                }
                survivor = .object(members)
            }
            survivors.append((offset, survivor))
        }
        if keep == "last" { survivors.sort { $0.offset < $1.offset } }
        let unique = survivors.map(\.value)
        return StepResult(outputs: [
            "items": .array(unique),
            "count": .int(unique.count),
            "duplicates": .int(items.count - unique.count),
        ])
    }
}

/// The identity `list.dedupe` compares: text (normalized or not), or any other value by its
/// canonical JSON (so `1` and `1.0` are one key). Null and missing keys have none.
enum DedupeKey: Hashable {
    case text(String)
    case value(String)

    init?(_ value: JSONValue?, normalize: Bool) {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?: self = .text(normalize ? DedupeKey.normalized(s) : s)
        case let other?: self = .value(other.canonicalJSON)
        }
    }

    /// NFKC (half-width katakana become full-width, full-width Latin becomes ASCII), lower case,
    /// katakana read as hiragana, whitespace trimmed and inner runs collapsed to one space:
    /// 'ﾔﾊﾞｲ', 'ヤバい ' and 'やばい' are one key.
    static func normalized(_ text: String) -> String {
        let folded = text.precomposedStringWithCompatibilityMapping.lowercased()
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in folded.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(hiragana(scalar))
        }
        // Composed once more: Foundation's NFKC on Linux leaves a half-width voiced mark as a
        // combining one (ﾊﾞ → ハ + U+3099), which Swift's == takes for バ but SQLite's keys (the
        // stock) do not.
        return String(out).precomposedStringWithCanonicalMapping
    }

    /// The hiragana for a katakana letter (ァ–ヶ and the iteration marks ヽヾ); others unchanged.
    static func hiragana(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0x30A1...0x30F6, 0x30FD...0x30FE: Unicode.Scalar(scalar.value - 0x60)!
        default: scalar
        }
    }
}
