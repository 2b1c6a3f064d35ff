import AIVCore
import Testing

/// Numbers from workflows, fixtures and servers reach integer conversions and clocks; these pin
/// that none of them can trap.
@Suite struct NumberConversionTests {
    @Test func aNumberOutsideTheRangeIsHeldAtItsEdgeAndNaNAtTheLowerOne() {
        #expect(Int(clamping: 1e30, to: 0...1000) == 1000)
        #expect(Int(clamping: -.infinity, to: 0...1000) == 0)
        #expect(Int(clamping: .nan, to: 1...1000) == 1)
        #expect(Int(clamping: 41.9, to: 0...1000) == 41)
        #expect(Int(clamping: 1e300, to: Int.min...Int.max) == Int.max)
    }

    @Test func aWaitIsWholeNanosecondsWithNothingForANegativeSpanAndAYearAtMost() {
        #expect((-5.0).sleepNanoseconds == 0)
        #expect(Double.nan.sleepNanoseconds == 0)
        #expect(1.5.sleepNanoseconds == 1_500_000_000)
        #expect(1e300.sleepNanoseconds == UInt64(366 * 86400) * 1_000_000_000)
    }

    @Test func aNegativeSpanIsNotADuration() {
        #expect(Durations.parse("-5") == nil)
        #expect(Durations.parse("-1s") == nil)
        #expect(Durations.seconds(.int(-1)) == nil)
        #expect(Durations.seconds(.double(-0.5)) == nil)
        #expect(Durations.parse("0") == 0)
        #expect(Durations.parse("1m30s") == 90)
        #expect(Durations.parse("1d2h3m4s500ms") == 93784.5)
        // Units from the largest down, each once: a repeated or reversed unit is a slip.
        #expect(Durations.parse("5m5m") == nil && Durations.parse("30s1m") == nil && Durations.parse("1h1h") == nil)
    }

    @Test func aSpanUnderHalfAMillisecondIsWrittenAsItsNumberNotAsNone() {
        #expect(Durations.format(1e-9) == "1e-09s")
        #expect(Durations.format(0.25) == "250ms")
        #expect(Durations.format(0) == "0s")
    }
}
