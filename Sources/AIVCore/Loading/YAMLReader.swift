import CYaml
import Foundation

/// Turns YAML text into located values, with the guards a hostile file needs.
///
/// It composes the document itself from the events of the libyaml that Yams carries, instead of
/// calling `Yams.compose`, for three reasons measured here: Yams has no alias-expansion limit (a
/// "billion laughs" file composes cheaply because aliases share nodes, but any walk of the result
/// is exponential), it stops at the first duplicate key, and building its `Node` tree and then
/// walking it again cost more than the rest of validation. This composer is iterative (no
/// recursion, so no stack overflow at any depth), counts every value an alias stands for against
/// a budget, reports every duplicate key where it is, and resolves plain scalars by YAML 1.2's
/// core schema, so `no`, `on` and `off` stay strings (the "Norway problem").
public struct YAMLReader: Sendable {
    /// Values a document may stand for, each alias counted as the full value it repeats.
    public var valueBudget = 1_000_000
    /// Nesting depth of mappings and sequences (libyaml itself stops at 1,000).
    public var depthLimit = 128

    /// Whether a workflow's `steps:` list may be read in parts on several threads (`StepsSplit`).
    public enum StepsReading: Sendable {
        /// One thread, always (prompt front matter, inputs files, fixtures).
        case whole
        /// In parts when the file is big enough and there are cores to use.
        case automatic
        /// In this many parts whenever the file allows it (for tests).
        case parts(Int)
    }

    public var stepsReading = StepsReading.whole

    /// Below this many bytes per part, starting threads costs about what they save.
    static let bytesPerPart = 32 << 10

    public init() {}

    public func read(_ file: SourceFile) -> (value: SourceValue?, diagnostics: Diagnostics) {
        var text = file.text
        return text.withUTF8 { bytes in
            let parts: Int = switch stepsReading {
            case .whole: 1
            case .automatic: bytes.count / Self.bytesPerPart >= 2 ? min(bytes.count / Self.bytesPerPart, ProcessInfo.processInfo.activeProcessorCount) : 1
            case .parts(let count): count
            }
            // libyaml's own nesting limit (1,000) is not shifted for the parts: near it, read whole.
            if parts >= 2, depthLimit < 999, let split = StepsSplit.find(in: bytes, parts: parts),
               let value = readSplit(bytes, split, file: file.path) {
                return (value, Diagnostics())
            }
            return readWhole(bytes, file: file.path)
        }
    }

    func readWhole(_ bytes: UnsafeBufferPointer<UInt8>, file: String) -> (value: SourceValue?, diagnostics: Diagnostics) {
        let composer = Composer(file: file, budget: valueBudget, depthLimit: depthLimit)
        do throws(Diagnostic) {
            let value = try composer.compose(bytes)
            return (value, composer.diagnostics)
        } catch {
            composer.diagnostics.append(error)
            return (nil, composer.diagnostics)
        }
    }

    /// The document read as its `steps:` list's parts and the rest, each on its own thread; nil
    /// when anything is not as the split assumed (then the file is read whole, and any problem is
    /// reported from that reading).
    func readSplit(_ bytes: UnsafeBufferPointer<UInt8>, _ split: StepsSplit, file: String) -> SourceValue? {
        // The rest: the file without the list's bytes, but with its line ends, so lines keep their numbers.
        let rest: [UInt8] = {
            var rest = Array(bytes[..<split.list.lowerBound])
            for i in split.list where bytes[i] == UInt8(ascii: "\n") { rest.append(UInt8(ascii: "\n")) }
            rest.append(contentsOf: bytes[split.list.upperBound...])
            return rest
        }()

        struct Part { var value: SourceValue?, clean = false, size = 0 }
        let results = UnsafeMutableBufferPointer<Part>.allocate(capacity: split.parts.count + 1)
        results.initialize(repeating: Part())
        defer {
            _ = results.deinitialize()
            results.deallocate()
        }
        // Each job writes only its own slot, and reads bytes that outlive concurrentPerform,
        // which returns after every job has finished.
        nonisolated(unsafe) let slots = results, source = bytes
        DispatchQueue.concurrentPerform(iterations: split.parts.count + 1) { job in
            // The list sits one level down in the document: its parts start one level deeper.
            let composer = Composer(file: file, budget: valueBudget, depthLimit: job == 0 ? depthLimit : depthLimit - 1,
                                    lineOffset: job == 0 ? 0 : split.firstLines[job - 1], mayHaveOtherLineBreaks: false)
            let value: SourceValue?
            do {
                value = job == 0 ? try rest.withUnsafeBufferPointer { try composer.compose($0) }
                    : try composer.compose(UnsafeBufferPointer(rebasing: source[split.parts[job - 1]]))
            } catch {
                return  // reported when the file is read whole
            }
            slots[job] = Part(value: value, clean: composer.diagnostics.isEmpty && (job == 0 || composer.anchors.isEmpty),
                                size: composer.rootSize)
        }
        // The rest must read the `steps:` line the split found as its `steps` key: inside a string
        // or a bracket opened before it, that line is not a key in the whole file either.
        guard results.allSatisfy(\.clean), let root = results[0].value, case .mapping(var entries) = root.content,
              let stepsIndex = entries.firstIndex(where: { $0.key == "steps" }), entries[stepsIndex].value.content == .null,
              entries[stepsIndex].keyLocation.line == split.stepsLine + 1, entries[stepsIndex].keyLocation.column == 1 else { return nil }
        var items: [SourceValue] = []
        var size = results[0].size - 1  // the blanked list read as a null
        for part in results.dropFirst() {
            guard let value = part.value, case .sequence(let partItems) = value.content else { return nil }
            items.append(contentsOf: partItems)
            let (sum, overflow) = size.addingReportingOverflow(part.size - 1)
            guard !overflow else { return nil }
            size = sum
        }
        guard size < valueBudget, let first = results[1].value else { return nil }
        entries[stepsIndex].value = SourceValue(.sequence(items), at: first.location)
        return SourceValue(.mapping(entries), at: root.location, length: root.length)
    }
}

/// One composition: the libyaml parser, the open collections, and the anchors seen so far.
private final class Composer {
    /// An open sequence or mapping.
    struct Frame {
        var isMapping: Bool
        var location: SourceLocation
        var anchor: String?
        var items: [SourceValue] = []
        var entries: [SourceValue.Entry] = []
        var merged: [SourceValue.Entry] = []
        /// Key → position in `entries`, built once a mapping is big enough for hashing to pay.
        var keyIndex: [String: Int]?
        /// The key read, waiting for its value; `skipValue` when the key was not usable.
        var pendingKey: (name: String, location: SourceLocation, isMerge: Bool)?
        var skipValue = false
        /// Values this collection stands for, itself included.
        var size = 1
    }

    let file: String
    /// The file's number in `SourceFileNames`, looked up once for every location made here.
    let fileNumber: UInt32
    let budget: Int
    let depthLimit: Int
    var diagnostics = Diagnostics()
    var frames: [Frame] = []
    var anchors: [String: (value: SourceValue, size: Int)] = [:]
    var root: SourceValue?
    /// Values the document stands for (aliases counted in full).
    var rootSize = 0
    var documents = 0
    /// Lines before the bytes read: a part of a file reports the file's line numbers.
    let lineOffset: Int
    /// Whether the bytes may hold a line break other than LF and CRLF (a part of a split file cannot).
    let mayHaveOtherLineBreaks: Bool
    /// For a file with such breaks, where each of libyaml's lines starts in the file's own numbering.
    var libyamlLineStarts: [(line: Int, column: Int, breakOffset: Int)]?

    init(file: String, budget: Int, depthLimit: Int, lineOffset: Int = 0, mayHaveOtherLineBreaks: Bool = true) {
        self.file = file
        self.fileNumber = SourceFileNames.shared.number(for: file)
        self.budget = budget
        self.depthLimit = depthLimit
        self.lineOffset = lineOffset
        self.mayHaveOtherLineBreaks = mayHaveOtherLineBreaks
    }

    func compose(_ bytes: UnsafeBufferPointer<UInt8>) throws(Diagnostic) -> SourceValue? {
        if mayHaveOtherLineBreaks { libyamlLineStarts = Self.libyamlLineStarts(bytes) }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw .error("cannot start the YAML parser", at: location(line: 0, column: 0)) }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!, bytes.count)
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { throw parseError(parser, bytes: bytes) }
            defer { yaml_event_delete(&event) }
            let here = location(event.start_mark)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw .error("a workflow file holds one YAML document, but a second one starts here", at: here)
                }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let anchor = string(scalar.anchor)
                let value = try self.scalar(scalar, at: here)
                if let anchor { anchors[anchor] = (value, 1) }
                try emit(value, size: 1)
            case YAML_ALIAS_EVENT:
                let name = string(event.data.alias.anchor) ?? ""
                guard let anchored = anchors[name] else { throw .error("unknown alias '*\(name)'", at: here) }
                var value = anchored.value
                value.location = here
                try emit(value, size: anchored.size)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if frames.count >= depthLimit {
                    throw .error("values nested more than \(depthLimit) levels deep", at: here)
                }
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = string(isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor)
                var frame = Frame(isMapping: isMapping, location: here, anchor: anchor)
                // Room for a step's few keys (or a short list's items) at once, rather than
                // growing the array from one by doubling: a third of composing's own time.
                if isMapping { frame.entries.reserveCapacity(4) } else { frame.items.reserveCapacity(4) }
                frames.append(frame)
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let frame = frames.popLast() else { continue }
                var entries = frame.entries
                for entry in frame.merged where !entries.contains(where: { $0.key == entry.key }) {
                    entries.append(entry)
                }
                let value = SourceValue(frame.isMapping ? .mapping(entries) : .sequence(frame.items), at: frame.location)
                if let anchor = frame.anchor { anchors[anchor] = (value, frame.size) }
                try emit(value, size: frame.size)
            default:
                continue
            }
        }
    }

    /// Hands a finished value to the collection it belongs to (or makes it the document).
    func emit(_ value: SourceValue, size: Int) throws(Diagnostic) {
        guard !frames.isEmpty else {
            root = value
            rootSize = size
            return
        }
        try add(value, size: size, to: &frames[frames.count - 1])
    }

    /// Adds a value to an open collection, in place.
    func add(_ value: SourceValue, size: Int, to frame: inout Frame) throws(Diagnostic) {
        frame.size = frame.size.addingReportingOverflow(size).overflow ? .max : frame.size + size
        if frame.size > budget {
            throw .error("document stands for more than \(budget) values; aliases that repeat aliases?", at: value.location)
        }
        guard frame.isMapping else {
            frame.items.append(value)
            return
        }
        guard let key = frame.pendingKey else {
            guard case .string(let name) = value.content else {
                if case .mapping = value.content {
                    diagnostics.error("mapping keys must be plain names, not mappings or lists", at: value.location)
                } else if case .sequence = value.content {
                    diagnostics.error("mapping keys must be plain names, not mappings or lists", at: value.location)
                } else {
                    // A key like `1:` or `true:`: keep its text, keys are names.
                    frame.pendingKey = (value.json.interpolationText, value.location, false)
                    return
                }
                frame.pendingKey = ("", value.location, false)
                frame.skipValue = true
                return
            }
            frame.pendingKey = (name, value.location, name == "<<" && value.length == 2)
            return
        }
        frame.pendingKey = nil
        if frame.skipValue {
            frame.skipValue = false
            return
        }
        if key.isMerge {
            // A YAML merge key: the aliased mapping's entries, unless written out here too.
            frame.merged.append(contentsOf: mergeEntries(value))
            return
        }
        // Mappings in workflows are small: a linear scan beats hashing every key, until it does not.
        if frame.keyIndex == nil, frame.entries.count >= 16 {
            frame.keyIndex = Dictionary(frame.entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        }
        let existing = frame.keyIndex.map { index in index[key.name].map { frame.entries[$0] } }
            ?? frame.entries.first(where: { $0.key == key.name })
        if let first = existing {
            diagnostics.error("duplicate key '\(key.name)'", at: key.location, length: key.name.unicodeScalars.count,
                              notes: [.init("first defined here", at: first.keyLocation)])
            return
        }
        frame.keyIndex?[key.name] = frame.entries.count
        frame.entries.append(.init(key: key.name, keyLocation: key.location, value: value))
    }

    func mergeEntries(_ value: SourceValue) -> [SourceValue.Entry] {
        switch value.content {
        case .mapping(let entries): return entries
        case .sequence(let items):
            return items.flatMap { item -> [SourceValue.Entry] in
                guard let entries = item.entries else {
                    diagnostics.error("a merge key (<<) takes a mapping or a list of mappings", at: item.location)
                    return []
                }
                return entries
            }
        default:
            diagnostics.error("a merge key (<<) takes a mapping or a list of mappings", at: value.location)
            return []
        }
    }

    func scalar(_ scalar: yaml_event_t.__Unnamed_union_data.__Unnamed_struct_scalar, at here: SourceLocation) throws(Diagnostic) -> SourceValue {
        let text = scalar.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: scalar.length), as: UTF8.self) } ?? ""
        // Columns count Unicode scalars (as libyaml's marks do): the UTF-8 bytes that start one.
        // One pass over the bytes; `unicodeScalars.count` and a separate newline search were 3% of loading.
        let (scalarCount, singleLine) = YAMLScalarLength.scalarCountAndSingleLine(text)
        let quoted = scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
        let length = singleLine ? scalarCount + (quoted ? 2 : 0) : 1
        func value(_ content: SourceValue.Content) -> SourceValue { SourceValue(content, at: here, length: length) }
        guard let tag = string(scalar.tag) else {
            return value(scalar.style == YAML_PLAIN_SCALAR_STYLE ? CoreSchema.resolve(text) : .string(text))
        }
        switch tag {
        case "!", "tag:yaml.org,2002:str": return value(.string(text))
        case "tag:yaml.org,2002:null": return value(.null)
        case "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float":
            switch (tag, CoreSchema.resolve(text)) {
            case ("tag:yaml.org,2002:bool", .bool(let b)): return value(.bool(b))
            case ("tag:yaml.org,2002:int", .int(let i)): return value(.int(i))
            case ("tag:yaml.org,2002:float", .double(let d)): return value(.double(d))
            case ("tag:yaml.org,2002:float", .int(let i)): return value(.double(Double(i)))
            default: throw .error("'\(text)' is not a valid \(tag.split(separator: ":").last ?? "")", at: here)
            }
        default:
            throw .error("unsupported YAML tag '\(tag)'", at: here)
        }
    }

    func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    func location(_ mark: yaml_mark_t) -> SourceLocation {
        location(line: mark.line, column: mark.column)
    }

    func location(line: Int, column: Int) -> SourceLocation {
        if let starts = libyamlLineStarts, line < starts.count {
            return SourceLocation(fileNumber: fileNumber, line: lineOffset + starts[line].line + 1, column: starts[line].column + column + 1)
        }
        return SourceLocation(fileNumber: fileNumber, line: lineOffset + line + 1, column: column + 1)
    }

    /// libyaml starts a line at a lone CR, NEL, LS and PS as well as at LF, so its marks count
    /// more lines than the file has for `SourceFile`, an editor and the caret under a source
    /// line. For bytes with such a break: where each of libyaml's lines (0-based) starts, as the
    /// file's 0-based line and column, and the byte offset of the break before it (-1 for the
    /// first line and a line after an LF); nil for the usual file, whose marks need no translation.
    static func libyamlLineStarts(_ bytes: UnsafeBufferPointer<UInt8>) -> [(line: Int, column: Int, breakOffset: Int)]? {
        guard bytes.indices.contains(where: { StepsSplit.isOtherLineBreak(bytes, at: $0) }) else { return nil }
        var starts: [(line: Int, column: Int, breakOffset: Int)] = [(0, 0, -1)]
        var line = 0, column = 0, i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\n") {
                line += 1
                column = 0
                starts.append((line, 0, -1))
                i += 1
            } else if StepsSplit.isOtherLineBreak(bytes, at: i) {
                column += 1
                starts.append((line, column, i))
                i += bytes[i] == 0xE2 ? 3 : bytes[i] == 0xC2 ? 2 : 1
            } else {
                if bytes[i] & 0xC0 != 0x80, bytes[i] != UInt8(ascii: "\r") || i + 1 == bytes.count || bytes[i + 1] != UInt8(ascii: "\n") {
                    column += 1
                }
                i += 1
            }
        }
        return starts
    }

    /// libyaml's problem and where it is.
    func parseError(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) -> Diagnostic {
        let problem = parser.problem.map { String(cString: $0) } ?? "cannot parse"
        if parser.error == YAML_READER_ERROR {
            let prefix = String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(min(parser.problem_offset, bytes.count))), as: UTF8.self)
            return .error("malformed YAML: \(problem)", at: SourceFile.location(after: prefix, in: file))
        }
        let message = problem.hasPrefix("Maximum nesting level") ? "nested more than 1,000 levels deep" : problem
        var notes = parser.context.map { [Diagnostic.Note(String(cString: $0), at: location(parser.context_mark))] } ?? []
        // A line separator pasted into a value (from a web page, a chat) breaks the line there
        // for libyaml, and its complaint about what follows names neither: the note does, for
        // the break that started the line libyaml was scanning (its context) or stopped on.
        let place = location(parser.problem_mark)
        if let starts = libyamlLineStarts {
            let lines = [parser.context == nil ? nil : parser.context_mark.line, parser.problem_mark.line].compactMap { $0 }
            let found = lines.lazy.compactMap { line in
                line < starts.count ? Self.unicodeLineBreak(bytes, at: starts[line].breakOffset).map { (line, $0.name, $0.escape) } : nil
            }.first
            if let (line, name, escape) = found {
                let at = SourceLocation(fileNumber: fileNumber, line: lineOffset + starts[line].line + 1, column: starts[line].column)
                notes.append(Diagnostic.Note("\(name) here is a line break to YAML, so what follows it starts a new line; remove it, or write it as \(escape) inside double quotes",
                                             at: at))
            }
        }
        return .error("malformed YAML: \(message)", at: place, notes: notes)
    }

    /// The name and YAML escape of the NEL, LS or PS at `offset`: YAML 1.1, which libyaml reads,
    /// counts them as line breaks, though editors show them inside a line. Nil for anything else.
    static func unicodeLineBreak(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) -> (name: String, escape: String)? {
        guard offset >= 0, offset < bytes.count, StepsSplit.isOtherLineBreak(bytes, at: offset) else { return nil }
        switch bytes[offset] {
        case 0xC2: return ("U+0085 (next line)", "\\N")
        case 0xE2: return bytes[offset + 2] == 0xA8 ? ("U+2028 (line separator)", "\\L") : ("U+2029 (paragraph separator)", "\\P")
        default: return nil
        }
    }
}

/// How many columns a scalar's text takes.
enum YAMLScalarLength {
    /// The number of Unicode scalars in `text` and whether it has no line feed.
    static func scalarCountAndSingleLine(_ text: String) -> (count: Int, singleLine: Bool) {
        var text = text
        return text.withUTF8 { bytes in
            var count = 0, singleLine = true
            for byte in bytes {
                if byte & 0xC0 != 0x80 { count += 1 }
                if byte == UInt8(ascii: "\n") { singleLine = false }
            }
            return (count, singleLine)
        }
    }

}

/// Plain-scalar resolution by YAML 1.2's core schema.
enum CoreSchema {
    static func resolve(_ text: String) -> SourceValue.Content {
        // Most scalars are keys, names and prose. Every other reading is a word of at most five
        // bytes starting with n, t, f (any case) or ~, or a number, which starts with a digit, a
        // sign or a dot: anything else is a string without a comparison or a number parser
        // tried (comparing each key with the words was a tenth of reading a workflow).
        guard let first = text.utf8.first else { return .null }
        let mayBeNumber = isDigit(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".")
        if !mayBeNumber {
            switch first {
            case UInt8(ascii: "n"), UInt8(ascii: "N"), UInt8(ascii: "t"), UInt8(ascii: "T"),
                 UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "~"):
                guard text.utf8.count <= 5 else { return .string(text) }
            default: return .string(text)
            }
            switch text {
            case "~", "null", "Null", "NULL": return .null
            case "true", "True", "TRUE": return .bool(true)
            case "false", "False", "FALSE": return .bool(false)
            default: return .string(text)
            }
        }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if isInteger(text), let i = Int(text.hasPrefix("+") ? String(text.dropFirst()) : text) { return .int(i) }
        if text.hasPrefix("0x"), let i = Int(text.dropFirst(2), radix: 16) { return .int(i) }
        if text.hasPrefix("0o"), let i = Int(text.dropFirst(2), radix: 8) { return .int(i) }
        if isFloat(text), let d = Double(text) { return .double(d) }
        return .string(text)
    }

    /// `[-+]?[0-9]+`. On UTF-8 bytes: a non-ASCII byte is never a digit or sign, and the
    /// `Character` version was a tenth of loading a large workflow.
    static func isInteger(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in isSignedDigits(bytes, from: 0) }
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, on UTF-8 bytes like `isInteger`.
    static func isFloat(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var i = afterSign(bytes, at: 0)
            var dots = 0, digits = 0
            while i < bytes.count, isDigit(bytes[i]) || bytes[i] == UInt8(ascii: ".") {
                if bytes[i] == UInt8(ascii: ".") { dots += 1 } else { digits += 1 }
                i += 1
            }
            guard digits > 0, dots <= 1 else { return false }
            if i == bytes.count { return true }
            guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return false }
            return isSignedDigits(bytes, from: i + 1)
        }
    }

    /// Whether `bytes[start...]` is `[-+]?[0-9]+` to the end.
    static func isSignedDigits(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Bool {
        var i = afterSign(bytes, at: start)
        guard i < bytes.count else { return false }
        while i < bytes.count {
            guard isDigit(bytes[i]) else { return false }
            i += 1
        }
        return true
    }

    /// `i`, or the position after it when a sign is there.
    static func afterSign(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Int {
        i < bytes.count && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) ? i + 1 : i
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
