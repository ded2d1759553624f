import Foundation
import RelayWire
import Prometheus

/// The relay's metrics for Prometheus (`GET /metrics`, text exposition format): sessions by outcome, sessions open,
/// APDUs and bytes relayed, session and per-APDU round-trip latency.
public final class RelayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let open: Gauge
    let apdus: Counter
    let bytes: Counter
    let sessionSeconds: DurationHistogram
    let roundTripSeconds: DurationHistogram

    public init() {
        open = registry.makeGauge(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "sessions_open", unitName: "",
                helpText: "Relay sessions open now"))
        apdus = registry.makeCounter(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "apdus", unitName: "total",
                helpText: "Command APDUs relayed to cards"))
        bytes = registry.makeCounter(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "apdu", unitName: "bytes_total",
                helpText: "APDU bytes relayed, both ways"))
        sessionSeconds = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "session_duration", unitName: "seconds",
                helpText: "Wall time of a relay session, hello to result"),
            buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60].map { .milliseconds(Int64($0 * 1000)) })
        roundTripSeconds = registry.makeDurationHistogram(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "apdu_round_trip", unitName: "seconds",
                helpText: "Command sent to answer received, per APDU (the phone link and the card)"),
            buckets: [0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.2, 0.3, 0.5, 1, 2].map { .milliseconds(Int64($0 * 1000)) })
    }

    /// Counts a finished session: `outcome` is genuine, notGenuine, signerUnverified, tampering or an error code.
    func finished(outcome: String, seconds: Double, apdus: Int, bytes: Int, roundTrips: [Double]) {
        registry.makeCounter(
            descriptor: .init(
                namespace: "cccd", subsystem: "relay", metricName: "sessions", unitName: "total",
                helpText: "Relay sessions ended, by outcome"),
            labels: [("outcome", outcome)]
        ).increment()
        sessionSeconds.record(.milliseconds(Int64(seconds * 1000)))
        self.apdus.increment(by: Int64(apdus))
        self.bytes.increment(by: Int64(bytes))
        for rtt in roundTrips { roundTripSeconds.record(.microseconds(Int64(rtt * 1e6))) }
    }

    func opened() { open.increment(by: 1) }
    func closed() { open.decrement(by: 1) }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }
}
