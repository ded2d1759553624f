import CPCSCLite
import CardCore
import Foundation

/// A PC/SC resource-manager context (owns an SCARDCONTEXT). Used from one thread; `cancel()` may be called
/// from another to interrupt a wait.
public final class PCSCContext: @unchecked Sendable {
    let handle: SCARDCONTEXT

    public init() throws(PCSCError) {
        var h: SCARDCONTEXT = 0
        let rv = SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &h)
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardEstablishContext") }
        handle = h
    }

    deinit { SCardReleaseContext(handle) }

    /// The reader names ([] when none is connected).
    public func readers() throws(PCSCError) -> [String] {
        var length: DWORD = 0
        var rv = SCardListReaders(handle, nil, nil, &length)
        if rv == SCARD_E_NO_READERS_AVAILABLE { return [] }
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardListReaders") }
        var buffer = [CChar](repeating: 0, count: Int(length))
        rv = SCardListReaders(handle, nil, &buffer, &length)
        if rv == SCARD_E_NO_READERS_AVAILABLE { return [] }
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardListReaders") }
        return buffer.split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// A reader's state: whether a card is present, and its ATR.
    public struct ReaderState: Hashable, Sendable {
        public let reader: String
        /// A card is in the reader and answered its power-up (it can be connected to).
        public let cardPresent: Bool
        public let atr: [UInt8]
        /// A card is in the reader, whether or not it answered (a mute card is in the reader but not present).
        public var cardInReader: Bool = false
        /// pcscd's event state, for the next wait.
        var eventState: DWORD = 0
    }

    /// The current state of each reader.
    public func states() throws(PCSCError) -> [ReaderState] {
        try readers().map { name throws(PCSCError) in try state(name, timeout: 0) }
    }

    func state(_ reader: String, currentState: DWORD = DWORD(SCARD_STATE_UNAWARE), timeout: Int) throws(PCSCError)
        -> ReaderState
    {
        let (rv, event, atr): (LONG, DWORD, [UInt8]) = reader.withCString { name in
            var s = SCARD_READERSTATE()
            s.szReader = name
            s.dwCurrentState = currentState
            let rv = SCardGetStatusChange(handle, DWORD(timeout), &s, 1)
            let atr = withUnsafeBytes(of: s.rgbAtr) { Array($0.prefix(Int(s.cbAtr))) }
            return (rv, s.dwEventState, atr)
        }
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardGetStatusChange") }
        let inReader = event & DWORD(SCARD_STATE_PRESENT) != 0
        let present = inReader && event & DWORD(SCARD_STATE_MUTE) == 0
        return ReaderState(
            reader: reader, cardPresent: present, atr: present ? atr : [], cardInReader: inReader,
            eventState: event & ~DWORD(SCARD_STATE_CHANGED))
    }

    /// Waits until a card is in `reader` (or the first reader when nil); throws `timeout` after `timeout`
    /// seconds, `cancelled` after `cancel()`.
    public func waitForCard(reader: String? = nil, timeout: Double) throws(PCSCError) -> ReaderState {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let names = try readers()
            let name = reader ?? names.first
            if let name, names.contains(name) {
                let s = try state(name, timeout: 0)
                if s.cardPresent { return s }
            } else if let reader, !names.isEmpty {
                throw PCSCError(status: 0x8010_0009, operation: "reader \(reader)")
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw PCSCError(status: 0x8010_000A, operation: "waiting for a card") }
            // Sleep in the resource manager until something changes (or a short slice passes).
            if let name, names.contains(name) {
                do {
                    _ = try state(name, currentState: DWORD(SCARD_STATE_EMPTY), timeout: Int(min(left, 0.5) * 1000))
                } catch let e where e.code == .timeout {
                    continue
                }
            } else {
                Thread.sleep(forTimeInterval: min(left, 0.1))
            }
        }
    }

    /// Waits until `reader` holds no card (the card was taken away); throws `timeout` after `timeout` seconds.
    /// A card that went mute (it no longer answers, or pcscd could not power it) is still in the reader: the wait
    /// goes on until pcscd sees the slot empty, so the next card is a new insertion that pcscd powers up.
    public func waitForRemoval(reader: String, timeout: Double) throws(PCSCError) {
        let deadline = Date().addingTimeInterval(timeout)
        var current = try state(reader, timeout: 0)
        while current.cardInReader {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else {
                throw PCSCError(status: 0x8010_000A, operation: "waiting for the card to be removed")
            }
            do {
                // Sleeps in the resource manager until the state differs from the one seen (or a slice passes).
                current = try state(reader, currentState: current.eventState, timeout: Int(min(left, 0.5) * 1000))
            } catch let e where e.code == .timeout {
                continue
            }
        }
    }

    /// Interrupts a `waitForCard` on another thread.
    public func cancel() { SCardCancel(handle) }

    public enum ShareMode: Sendable { case shared, exclusive }

    /// Connects to the card in `reader` (T=0 or T=1). `reset`: reset the card first, for a card whose state is
    /// unknown (it was in the reader before this program saw it arrive; another program may have left a session
    /// open on it, and some chips keep BAC's state until a reset: FIELD.md §2.6).
    public func connect(reader: String, share: ShareMode = .shared, reset: Bool = false) throws(PCSCError) -> PCSCCard {
        let card = try connect(reader: reader, share: share)
        if reset { try card.reconnect(reset: true) }
        return card
    }

    private func connect(reader: String, share: ShareMode) throws(PCSCError) -> PCSCCard {
        var card: SCARDHANDLE = 0
        var active: DWORD = 0
        let mode = share == .shared ? SCARD_SHARE_SHARED : SCARD_SHARE_EXCLUSIVE
        let rv = SCardConnect(handle, reader, DWORD(mode), DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1), &card, &active)
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardConnect") }
        let s = try state(reader, timeout: 0)
        return PCSCCard(
            context: self, handle: card, protocolT1: active == DWORD(SCARD_PROTOCOL_T1), atr: s.atr, reader: reader)
    }
}

/// A connected card (owns an SCARDHANDLE) as a `CardTransport`. Extended length is taken from the ATR.
public final class PCSCCard: CardTransport {
    let context: PCSCContext
    private var handle: SCARDHANDLE
    public private(set) var isT1: Bool
    public let atr: [UInt8]
    public let reader: String
    private var receiveBuffer = [UInt8](repeating: 0, count: 65536 + 2 + 16)
    private var connected = true
    /// A transmit failed (the card left or stopped answering): a reset on disconnect has nothing to reset.
    private var cardGone = false

    init(context: PCSCContext, handle: SCARDHANDLE, protocolT1: Bool, atr: [UInt8], reader: String) {
        self.context = context
        self.handle = handle
        self.isT1 = protocolT1
        self.atr = atr
        self.reader = reader
    }

    /// A card left connected is reset on the way out: the next program finds it as it was (FIELD.md §2.6).
    deinit { if connected { SCardDisconnect(handle, DWORD(cardGone ? SCARD_LEAVE_CARD : SCARD_RESET_CARD)) } }

    public var capabilities: TransportCapabilities {
        TransportCapabilities(atr: atr, supportsExtendedLength: ATR(atr)?.supportsExtendedLength ?? false)
    }

    public func transmit(_ command: CommandAPDU) throws -> ResponseAPDU {
        do {
            return try transmitBytes(command.encoded())
        } catch {
            throw error.transportError
        }
    }

    func transmitBytes(_ bytes: [UInt8]) throws(PCSCError) -> ResponseAPDU {
        guard connected else { throw PCSCError(status: 0x8010_0069, operation: "SCardTransmit") }
        var length = DWORD(receiveBuffer.count)
        let pci = isT1 ? cccd_pci_t1() : cccd_pci_t0()
        let rv = receiveBuffer.withUnsafeMutableBufferPointer { out in
            SCardTransmit(handle, pci, bytes, DWORD(bytes.count), nil, out.baseAddress, &length)
        }
        guard rv == SCARD_S_SUCCESS else {
            // The link failed (card gone, reader gone, vpcd's card closed): a reset on the way out has nothing to
            // reset and can stall the driver, so leave the card.
            cardGone = true
            throw PCSCError(status: Int(rv), operation: "SCardTransmit")
        }
        guard length >= 2 else { throw PCSCError(status: 0x8010_0013, operation: "SCardTransmit (short answer)") }
        do {
            return try ResponseAPDU(bytes: receiveBuffer[0..<Int(length)])
        } catch {
            throw PCSCError(status: 0x8010_0013, operation: "SCardTransmit")
        }
    }

    /// Reconnects (optionally resetting the card).
    public func reconnect(reset: Bool) throws(PCSCError) {
        var active: DWORD = 0
        let rv = SCardReconnect(
            handle, DWORD(SCARD_SHARE_SHARED), DWORD(SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1),
            DWORD(reset ? SCARD_RESET_CARD : SCARD_LEAVE_CARD), &active)
        guard rv == SCARD_S_SUCCESS else { throw PCSCError(status: Int(rv), operation: "SCardReconnect") }
        isT1 = active == DWORD(SCARD_PROTOCOL_T1)
    }

    /// Disconnects, resetting the card by default: leave the card as you found it (a chip that keeps BAC's state
    /// until a reset would refuse the next program's BAC, FIELD.md §2.6).
    public func disconnect(reset: Bool = true) {
        guard connected else { return }
        SCardDisconnect(handle, DWORD(reset && !cardGone ? SCARD_RESET_CARD : SCARD_LEAVE_CARD))
        connected = false
    }
}
