import CardCore
import Foundation
import Issuance

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator sees of a run. On a terminal, a board: one line per reader (what it is doing, the chip, the
/// record, its last result) and the totals, redrawn in place, with each card's line printed above it as it happens.
/// Piped, one plain line per event, flushed as it is written (nothing is lost to `| tee`). With `--json`, JSON Lines:
/// one object per card event, refusal, stop and journal outage, then the summary.
final class PersoProgress: @unchecked Sendable {
    enum Mode { case board, lines, json }

    let total: Int
    let mode: Mode
    let start = Date()
    private let lock = NSLock()
    private var issued = 0
    private var spoiled = 0
    private var failed = 0
    private var readers: [String: (state: ReaderState, last: String?)] = [:]
    private var order: [String] = []
    /// Lines of the board on screen now (to redraw it in place).
    private var drawn = 0
    private let iso = ISO8601DateFormatter()

    init(total: Int, mode: Mode, readers names: [String]) {
        self.total = total
        self.mode = mode
        order = names
        for name in names { readers[name] = (.waiting, nil) }
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    }

    func report(_ event: LineEvent) {
        lock.withLock {
            var text: String? = nil
            var object: [String: Any]? = nil
            switch event {
            case .issued(let n, let serial, let station):
                issued += 1
                text = "line \(n): issued on chip \(serial) (\(station))"
                object = ["event": "issued", "line": n, "chip": serial, "reader": station]
                remember(station, "issued line \(n)")
            case .spoiled(let n, let serial, let station, let reason):
                spoiled += 1
                text = "line \(n): chip \(serial) spoiled (\(station)): \(reason)"
                object = ["event": "spoiled", "line": n, "chip": serial, "reader": station, "reason": reason]
                remember(station, "spoiled chip for line \(n)")
            case .failed(let n, let reason):
                failed += 1
                text = "line \(n): FAILED \(reason)"
                object = ["event": "failed", "line": n, "reason": reason]
            case .recovered(let n, let serial, let outcome):
                if outcome == "issued" { issued += 1 }
                text = "line \(n): chip \(serial) found after a restart: \(outcome)"
                object = ["event": "recovered", "line": n, "chip": serial, "outcome": outcome]
            case .refusedCard(let station, let reason):
                text = "\(station): card refused: \(reason)"
                object = ["event": "refused", "reader": station, "reason": reason]
                remember(station, "card refused")
            case .journalUnavailable(let reason):
                // Always said, on stderr: the operator must know the line is waiting.
                FileHandle.standardError.write(
                    Data("\nwarning: the journal cannot be reached; no new card until it is back (\(reason))\n".utf8))
                object = ["event": "journalUnavailable", "reason": reason]
            case .journalBack(let seconds):
                FileHandle.standardError.write(
                    Data("the journal is back after \(String(format: "%.1f", seconds)) s; going on\n".utf8))
                object = ["event": "journalBack", "seconds": seconds]
            case .heldElsewhere(let lines, let stations):
                text =
                    "\(plural(lines.count, "record")) held mid-card by station(s) \(stations.joined(separator: ", ")): those stations account for their chips"
                object = ["event": "heldElsewhere", "lines": lines, "stations": stations]
            case .reader(let name, let state):
                if readers[name] == nil { order.append(name) }
                readers[name] = (state, readers[name]?.last)
                if case .stopped(let reason) = state {
                    object = ["event": "readerStopped", "reader": name, "reason": reason]
                    if mode == .lines, reason.hasPrefix("wrong") { text = "\(name): stopped: \(reason)" }
                }
            }
            switch mode {
            case .json:
                guard var object else { return }
                object["at"] = iso.string(from: Date())
                emit(object)
            case .lines:
                if let text { write(text + "\n") }
            case .board:
                var out = erase()
                if let text { out += text + "\n" }
                out += board()
                write(out)
            }
        }
    }

    private func remember(_ reader: String, _ last: String) {
        if readers[reader] == nil { order.append(reader) }
        readers[reader] = (readers[reader]?.state ?? .waiting, last)
    }

    /// Moves the cursor to the board's first line and clears to the end of the screen.
    private func erase() -> String {
        defer { drawn = 0 }
        return drawn > 0 ? "\u{1B}[\(drawn)A\r\u{1B}[J" : ""
    }

    private func board() -> String {
        let width = min(max(order.map(\.count).max() ?? 8, 8), 32)
        var lines: [String] = []
        for name in order {
            let (state, last) = readers[name] ?? (.waiting, nil)
            let label = name.count > width ? String(name.prefix(width - 1)) + "…" : name.padding(toLength: width, withPad: " ", startingAt: 0)
            var line = "  \(label)  \(describe(state))"
            if let last { line += "   (last: \(last))" }
            lines.append(line)
        }
        let elapsed = Date().timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(issued) / elapsed * 60 : 0
        let left = max(0, total - issued - failed)
        let eta = rate > 0 && left > 0 ? String(format: ", ETA %.0f s", Double(left) / rate * 60) : ""
        lines.append(
            String(
                format: "  %d/%d issued, %d spoiled, %d failed, %.1f cards/min%@", issued, total, spoiled, failed, rate,
                eta))
        drawn = lines.count
        return lines.joined(separator: "\n") + "\n"
    }

    private func describe(_ state: ReaderState) -> String {
        switch state {
        case .waiting: return "waiting for a blank card"
        case .writing(let line, let chip): return "writing line \(line) to chip \(chip)"
        case .readingBack(let line, let chip): return "reading back line \(line) from chip \(chip)"
        case .done(let outcome, let line, _):
            return "\(outcome)\(line.map { " (line \($0))" } ?? ""): remove the card"
        case .stopped(let reason): return "stopped: \(reason)"
        }
    }

    private func emit(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// Straight to the descriptor: a piped run loses nothing if it is killed.
    private func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

    /// A line said before the cards (a refused record, a warning): text, or one JSON object.
    func note(_ text: String, _ object: [String: Any]) {
        lock.withLock {
            if mode == .json {
                var object = object
                object["at"] = iso.string(from: Date())
                emit(object)
            } else {
                write(text + "\n")
            }
        }
    }

    /// The summary: the board's last state stays on screen; JSON's last line is the summary object.
    func finish(summary: [String: Any]?, text: String) {
        lock.withLock {
            switch mode {
            case .json:
                if var summary {
                    summary["event"] = "summary"
                    emit(summary)
                }
            case .lines: write(text + "\n")
            case .board: write(text + "\n")
            }
        }
    }
}

/// "1 card", "2 cards".
func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// SIGINT and SIGTERM during a run: the first asks the line to stop after the card in hand, the second ends the
/// process at once (still safe: the journal holds the card in hand as open, and the next run accounts for it).
final class OperatorStop: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]

    init(line: PersoLine) {
        var made: [any DispatchSourceSignal] = []
        let box = Locked(0)
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if box.withLock({ $0 += 1; return $0 }) == 1 {
                    FileHandle.standardError.write(
                        Data("\nstopping after the card in hand (press Ctrl-C again to stop at once)\n".utf8))
                    line.stop()
                } else {
                    FileHandle.standardError.write(
                        Data("\nstopped at once; the next run accounts for the card in hand\n".utf8))
                    _exit(CCCDExit.stopped.rawValue)
                }
            }
            source.resume()
            made.append(source)
        }
        sources = made
        counter = box
    }

    private let counter: Locked<Int>

    /// Whether the operator asked for a stop.
    var requested: Bool { counter.get() > 0 }

    func cancel() {
        for source in sources { source.cancel() }
    }

}
