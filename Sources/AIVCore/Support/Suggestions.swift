import Foundation

/// "Did you mean …?" for misspelt names: the closest candidate by edit distance, when close enough.
public enum Suggestions {
    /// The candidate nearest to `name`, if it is within a third of the name's length (at least 1, at most 3 edits).
    public static func closest(to name: String, in candidates: some Sequence<String>) -> String? {
        let limit = min(3, max(1, name.count / 3))
        let lowered = Array(name.lowercased())
        var best: (String, Int)?
        for candidate in candidates where candidate != name {
            // Lengths further apart than the limit cannot be within it: most candidates stop here.
            let other = Array(candidate.lowercased())
            let within = min(limit, (best?.1 ?? .max) - 1)
            guard abs(other.count - lowered.count) <= within else { continue }
            let distance = editDistance(lowered, other, giveUpAbove: within)
            if distance <= within { best = (candidate, distance) }
        }
        if let best { return best.0 }
        // A plural or a dash for an underscore is further than the edit limit from a short name
        // (`retries` for `retry`, `max-parallel` for `max_parallel`), and as clearly meant.
        let word = name.lowercased()
        var variants = [word.replacingOccurrences(of: "-", with: "_")]
        if word.hasSuffix("ies") { variants.append(String(word.dropLast(3)) + "y") }
        if word.hasSuffix("es") { variants.append(String(word.dropLast(2))) }
        if word.hasSuffix("s") { variants.append(String(word.dropLast())) }
        return candidates.first { $0 != name && variants.contains($0.lowercased()) }
    }

    /// A name as a message quotes it: cut after 60 characters, so a name pasted by mistake (a
    /// whole file) does not fill the terminal.
    public static func quoted(_ name: String) -> String {
        name.count > 60 ? String(name.prefix(60)) + "…" : name
    }

    /// "; did you mean 'x'?" or an empty string, to append to a message.
    public static func didYouMean(_ name: String, in candidates: some Sequence<String>) -> String {
        closest(to: name, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
    }

    /// "; did you mean '../prompts/analyse.prompt'?" when the folder of `resolved` holds a file
    /// whose name is near the missing one's (`analyze` for `analyse`), written as the user wrote
    /// the path; or nothing. A folder of thousands of recordings is not read through for a hint.
    public static func nearbyFile(_ written: String, resolved: String) -> String {
        let folder = (resolved as NSString).deletingLastPathComponent
        let name = (resolved as NSString).lastPathComponent
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder), names.count <= 5_000,
              let near = closest(to: name, in: names.filter { !$0.hasPrefix(".") }) else { return "" }
        let prefix = written.hasSuffix(name) ? String(written.dropLast(name.count)) : ""
        return "; did you mean '\(prefix + near)'?"
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        editDistance(Array(a), Array(b), giveUpAbove: .max)
    }

    /// The distance, or any number above `limit` as soon as a row shows it must be: a candidate
    /// far from the name costs a row or two rather than the whole table.
    static func editDistance(_ a: [Character], _ b: [Character], giveUpAbove limit: Int) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            // A swap reaches back two rows, so both must be over the limit before giving up.
            if current.min()! > limit, previous.min()! > limit { return limit + 1 }
            (previous2, previous, current) = (previous, current, previous2)
        }
        return previous[b.count]
    }
}

extension String {
    /// Whether the string holds a `${{`. Scans bytes: Foundation's `contains` goes through
    /// CFString and showed up as a hot spot when checking large workflows.
    public var hasExpressionMarker: Bool {
        // On the contiguous bytes when there are (native strings always have them): stepping
        // `String.Index`es was a visible part of checking every string of a large workflow.
        let found = utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var i = 0
            while i + 2 < bytes.count {
                if bytes[i] == 0x24, bytes[i + 1] == 0x7B, bytes[i + 2] == 0x7B { return true }
                i += 1
            }
            return false
        }
        return found ?? utf8Contains([0x24, 0x7B, 0x7B])
    }

    /// Whether the UTF-8 bytes contain `needle`.
    func utf8Contains(_ needle: [UInt8]) -> Bool {
        utf8FirstRange(of: needle, from: utf8.startIndex) != nil
    }

    /// The index of the first occurrence of `needle`'s bytes at or after `start`.
    func utf8FirstRange(of needle: [UInt8], from start: String.Index) -> String.Index? {
        guard let first = needle.first else { return nil }
        var index = start
        let end = utf8.endIndex
        while index < end {
            if utf8[index] == first {
                var probe = index, k = 0
                while k < needle.count, probe < end, utf8[probe] == needle[k] {
                    probe = utf8.index(after: probe)
                    k += 1
                }
                if k == needle.count { return index }
            }
            index = utf8.index(after: index)
        }
        return nil
    }
}
