import Foundation

/// How a platform counts the length of a post, so drafts are checked the way the platform will
/// check them. Written here because no Swift package carries X's counting rules; the rules are
/// those of X's published twitter-text configuration (version 3).
enum PostLength: String, CaseIterable, Sendable {
    /// User-perceived characters (grapheme clusters): Bluesky, Threads, Instagram, YouTube.
    case characters
    /// X's weighted length: after NFC, every URL (with or without its scheme) counts 23; an emoji counts 2; a code point in
    /// Latin, Greek, Cyrillic, Hebrew, Arabic and a few punctuation ranges counts 1, any other
    /// (Japanese among them) 2. The limit is 280.
    case x
    /// UTF-8 bytes: YouTube's video description (5,000), where a Japanese character counts 3.
    case bytes

    func count(_ text: String) -> Int {
        switch self {
        case .characters: text.count
        case .x: Self.weighted(text)
        case .bytes: text.utf8.count
        }
    }

    /// How the count is made, for error messages.
    var explanation: String {
        switch self {
        case .characters: "characters"
        case .x: "characters as X counts them (a link 23, Japanese and emoji 2 each)"
        case .bytes: "bytes of UTF-8 (a Japanese character 3)"
        }
    }

    static let urlLength = 23
    /// Code point ranges that weigh 1 (the rest weigh 2).
    static let lightRanges: [ClosedRange<UInt32>] = [0...0x10FF, 0x2000...0x200D, 0x2010...0x201F, 0x2032...0x2037]
    /// A link as X finds one: the scheme in any case, then ASCII URL characters only, so Japanese
    /// text right after a link is not taken for part of it.
    static let url = try! NSRegularExpression(pattern: #"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+"#, options: [.caseInsensitive])
    /// A link written without its scheme, which X counts as one too: a domain (not after a
    /// letter, a digit, `_`, `@`, `#`, `$` (full-width too), a dot, a slash or a hyphen) ending in a generic top-level domain, or in a country's when a
    /// path follows (X leaves `example.jp` alone as text, but links `youtu.be/abc`). The domains
    /// listed are the common ones, not X's whole list of some 1,500.
    static let schemelessURL = try! NSRegularExpression(
        pattern: #"(?<![A-Za-z0-9_@＠#＃$./\-])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"#
            + #"(?:(?:com|net|org|info|biz|app|dev|xyz|live|stream|video|games|news|blog|site|online|shop|store)(?![A-Za-z0-9\-])"#
            + #"(?:/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)?"#
            + #"|(?:jp|be|io|co|tv|gg|me|ly|uk|us|de|fr|kr|tw|cn|ca|au)/[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*)"#,
        options: [.caseInsensitive])

    /// Punctuation that ends a sentence after a link rather than the link (a closing parenthesis
    /// only when the link has more of them than it opened).
    static func trimmed(_ link: Substring) -> Substring {
        var link = link
        while let last = link.last {
            let unbalanced = last == ")" && link.filter { $0 == ")" }.count > link.filter { $0 == "(" }.count
            guard ".,:;!?'\"".contains(last) || unbalanced else { break }
            link = link.dropLast()
        }
        return link
    }

    static func weighted(_ text: String) -> Int {
        let normalized = text.precomposedStringWithCanonicalMapping
        let whole = NSRange(normalized.startIndex..., in: normalized)
        var total = 0
        var rest = normalized.startIndex
        func add(_ piece: Substring) {
            for character in piece {
                if character.unicodeScalars.contains(where: { $0.properties.isEmojiPresentation || $0.value == 0xFE0F }),
                   character.unicodeScalars.count > 1 || character.unicodeScalars.first!.value > 0x2FFF {
                    total += 2
                } else {
                    total += character.unicodeScalars.reduce(0) { sum, scalar in
                        sum + (lightRanges.contains { $0.contains(scalar.value) } ? 1 : 2)
                    }
                }
            }
        }
        let links = (url.matches(in: normalized, range: whole) + schemelessURL.matches(in: normalized, range: whole))
            .sorted { $0.range.location < $1.range.location }
        for match in links {
            guard let range = Range(match.range, in: normalized), range.lowerBound >= rest else { continue }
            let link = trimmed(normalized[range])
            add(normalized[rest..<link.startIndex])
            total += urlLength
            rest = link.endIndex
        }
        add(normalized[rest...])
        return total
    }
}
