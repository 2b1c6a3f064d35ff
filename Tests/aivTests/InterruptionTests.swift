import Foundation
import Testing
@testable import aiv

/// What Ctrl-C and SIGTERM do to a run, signal by signal (the handler called directly, and the
/// quit recorded instead of ending the test process).
@Suite struct InterruptionTests {
    final class Record: @unchecked Sendable {
        private let lock = NSLock()
        private var stops: [String] = []
        private var quits: [Int32] = []
        func stop(_ name: String) { lock.withLock { stops.append(name) } }
        func quit(_ signal: Int32) { lock.withLock { quits.append(signal) } }
        var stopped: [String] { lock.withLock { stops } }
        var quitWith: [Int32] { lock.withLock { quits } }
    }

    func interruption(_ record: Record) -> Interruption {
        Interruption(listen: false, quit: { record.quit($0) }) { record.stop($0) }
    }

    @Test func aSignalRepeatedAtOnceIsOneRequestAndALaterOneQuits() async throws {
        let record = Record()
        let interruption = interruption(record)
        interruption.received(SIGTERM, "terminated")
        interruption.received(SIGTERM, "terminated")  // GNU timeout's second delivery
        interruption.received(SIGINT, "interrupted")
        #expect(record.stopped == ["terminated"] && record.quitWith.isEmpty)
        try await Task.sleep(for: .milliseconds(600))
        interruption.received(SIGINT, "interrupted")
        #expect(record.quitWith == [SIGINT])
    }

    @Test func aQuitDuringTheRenamesWaitsForThem() async throws {
        let record = Record()
        let interruption = interruption(record)
        interruption.received(SIGINT, "interrupted")
        try await Task.sleep(for: .milliseconds(600))
        interruption.finishingWrites {
            interruption.received(SIGINT, "interrupted")
            #expect(record.quitWith.isEmpty, "held while renaming")
        }
        #expect(record.quitWith == [SIGINT])
    }

    /// After the run there is nothing to stop: a signal quits (as without aiv's handler), and
    /// the run's own stop is not asked for again.
    @Test func aSignalAfterTheRunQuits() {
        let record = Record()
        let interruption = interruption(record)
        interruption.runEnded()
        interruption.received(SIGTERM, "terminated")
        #expect(record.stopped.isEmpty && record.quitWith == [SIGTERM])
    }
}
