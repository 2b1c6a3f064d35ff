import AIVCore
import Foundation

/// Media for a prompt: small files inline (base64 in the request), large ones through the File
/// API's resumable upload, then polled until Gemini has processed them (state ACTIVE).
enum GeminiFiles {
    /// MIME types Gemini accepts, by file extension: the ones its audio, video, image and document
    /// guides list (an audio type not listed, such as audio/mp4, risks a 400 mid-run).
    static let mimeTypes: [String: String] = [
        "mp3": "audio/mp3", "wav": "audio/wav", "aac": "audio/aac", "ogg": "audio/ogg", "flac": "audio/flac",
        "aiff": "audio/aiff", "aif": "audio/aiff", "mp4": "video/mp4", "mov": "video/mov", "webm": "video/webm",
        "mpeg": "video/mpeg", "mpg": "video/mpg", "avi": "video/avi", "flv": "video/x-flv", "wmv": "video/wmv",
        "3gp": "video/3gpp", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
        "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf", "txt": "text/plain", "srt": "text/plain",
        "vtt": "text/plain",
    ]
    /// Containers people have that Gemini does not list, and what to do instead: clip.cut copies
    /// the streams into one it takes without re-encoding.
    static let advice: [String: String] = [
        "m4a": "cut it to .aac with clip.cut (the same AAC audio, no re-encoding)",
        "mka": "cut it to .aac with clip.cut when its audio is AAC",
        "mkv": "cut it to .mp4 with clip.cut (OBS's default recording format is mkv)",
        "ts": "cut it to .mp4 with clip.cut",
    ]
    /// How long a processing upload is waited for before the step fails.
    static let processingLimit: Double = 30 * 60

    static func mimeType(of path: String) throws(StepError) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        guard let type = mimeTypes[ext] else {
            let instead = advice[ext].map { ": \($0)" } ?? ""
            throw StepError("media file '\(path)': Gemini takes \(mimeTypes.keys.sorted().joined(separator: ", ")) files, not '.\(ext)'\(instead)")
        }
        return type
    }

    /// The request parts for `files` (as written, and resolved): inline when they fit in
    /// `inlineLimit` bytes together, else uploaded.
    static func parts(for files: [(name: String, path: String)], inlineLimit: Int, client: ServiceClient,
                      clock: any Clock<Duration>) async throws -> [GeminiRequest.MediaPart] {
        var sizes: [Int] = []
        for file in files {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path), let size = attributes[.size] as? Int else {
                throw StepError("media file not found: '\(file.name)' (looked for \(file.path))")
            }
            sizes.append(size)
        }
        // Inline data is base64, a third larger than the files, in a small JSON object each.
        let inline = (sizes.reduce(0, +) + 2) / 3 * 4 + 100 * files.count <= inlineLimit
        var parts: [GeminiRequest.MediaPart] = []
        for (file, size) in zip(files, sizes) {
            let type = try mimeType(of: file.name)
            if inline {
                guard let data = FileManager.default.contents(atPath: file.path) else { throw StepError("cannot read media file '\(file.name)'") }
                parts.append(.inline(mimeType: type, data: data))
            } else {
                parts.append(.file(mimeType: type, uri: try await uploadWithRetries(file, size: size, mimeType: type, client: client, clock: clock)))
            }
        }
        return parts
    }

    /// A failed upload is started again from the beginning: a resumable session left half
    /// written by a lost connection cannot simply take the bytes again from offset 0.
    static func uploadWithRetries(_ file: (name: String, path: String), size: Int, mimeType: String, client: ServiceClient,
                                  clock: any Clock<Duration>) async throws -> String {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await upload(file, size: size, mimeType: mimeType, client: client, clock: clock)
            } catch let error as ServiceError where error.isTransient && attempt < client.retry.attempts {
                try await client.wait(client.retry.delay(after: attempt, random: client.random()))
            }
        }
    }

    /// Uploads one file (resumable protocol: start, then upload and finalize in one request) and
    /// waits until it is ACTIVE; returns its URI.
    static func upload(_ file: (name: String, path: String), size: Int, mimeType: String, client: ServiceClient,
                       clock: any Clock<Duration>) async throws -> String {
        let start = HTTPRequest(
            method: "POST", url: client.url("/upload/v1beta/files"),
            headers: ["X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                      "X-Goog-Upload-Header-Content-Length": String(size), "X-Goog-Upload-Header-Content-Type": mimeType,
                      "Content-Type": "application/json"],
            body: .json(["file": ["display_name": .string((file.name as NSString).lastPathComponent)]]))
        let started = try await client.send(start, limited: false)
        guard let location = started.header("x-goog-upload-url"), let uploadURL = URL(string: location) else {
            throw StepError("the File API did not say where to upload '\(file.name)' (no X-Goog-Upload-URL header)")
        }
        let finish = HTTPRequest(method: "POST", url: uploadURL,
                                 headers: ["X-Goog-Upload-Offset": "0", "X-Goog-Upload-Command": "upload, finalize", "Content-Type": mimeType],
                                 body: .file(path: file.path),
                                 // At least a minute per 50 MB (a slow uplink), and never less than the service's timeout.
                                 timeout: max(client.timeout, Double(size) / 50_000_000 * 60))
        let uploaded = try await client.send(finish, limited: false, retriesFailures: false, expectsJSON: true)
        guard var current = uploaded.json?["file"], let name = current["name"]?.stringValue else {
            throw StepError("the File API's answer to the upload of '\(file.name)' has no file name")
        }
        var waited = 0.0
        var pause = 0.2
        while current["state"]?.stringValue == "PROCESSING" {
            guard waited < processingLimit else {
                throw StepError("'\(file.name)' is still being processed by Gemini after \(Durations.format(processingLimit))")
            }
            try await clock.sleep(for: .milliseconds(Int64(pause * 1000)))
            waited += pause
            pause = min(pause * 2, 5)
            current = try await client.send(HTTPRequest(method: "GET", url: client.url("/v1beta/\(name)")), limited: false, expectsJSON: true).json ?? .null
        }
        switch current["state"]?.stringValue {
        case "ACTIVE", nil:
            guard let uri = current["uri"]?.stringValue else { throw StepError("the File API gave no URI for '\(file.name)'") }
            return uri
        case let state?:
            let reason = current["error"]?["message"]?.stringValue.map { ": \($0)" } ?? ""
            throw StepError("Gemini could not process '\(file.name)' (state \(state)\(reason))")
        }
    }
}
