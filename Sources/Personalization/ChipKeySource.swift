import CardCrypto
import Foundation

/// Where data preparation takes a chip's private keys from.
///
/// `random` is the only choice for real cards. `seeded` is for tests and reproducible demos: the same seed and
/// record give the same keys (CA, AA, a DH exponent) on any core and in any order, so a batch prepared twice gives
/// the same chips. Anyone who has the seed has every key: never use it for a card a citizen will carry.
public enum ChipKeySource: Sendable, Equatable {
    case random
    case seeded([UInt8])
    /// Fresh random keys made ahead by the pool's threads (a line whose chips cannot make keys: its cards do not wait
    /// for RSA generation).
    case pool(ChipKeyPool)

    /// `count` bytes for one key of one record: SHA-256(seed ‖ 00 ‖ record ‖ 00 ‖ purpose ‖ counter), as many
    /// blocks as needed.
    func stream(_ seed: [UInt8], record: String, purpose: String, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        var counter: UInt32 = 0
        while out.count < count {
            let c = [
                UInt8(counter >> 24), UInt8(counter >> 16 & 0xFF), UInt8(counter >> 8 & 0xFF), UInt8(counter & 0xFF),
            ]
            out += HashAlgorithm.sha256.hash(seed, [0], Array(record.utf8), [0], Array(purpose.utf8), c)
            counter += 1
        }
        return Array(out.prefix(count))
    }

    /// A number in [1, upper − 1] from the stream (8 bytes more than `upper` so the bias is negligible).
    func scalar(below upper: [UInt8], record: String, purpose: String) throws(CryptoError) -> [UInt8] {
        guard case .seeded(let seed) = self else { return try BigNumber.random(below: BigNumber(upper)).bytes() }
        let n = BigNumber(upper)
        let x = BigNumber(stream(seed, record: record, purpose: purpose, count: upper.count + 8))
        let reduced = try x.mod(n.subtracting(BigNumber(1)))
        return reduced.adding(BigNumber(1)).bytes(length: upper.count)
    }

    /// An EC key pair on `curve`.
    public func ecKey(_ curve: NamedCurve, record: String, purpose: String) throws(CryptoError) -> AsymmetricKey {
        if case .pool(let pool) = self { return try pool.take(.ec(curve)) }
        guard case .seeded = self else { return try .generateEC(curve) }
        return try .ec(curve, scalar: try scalar(below: try ECGroup(curve).order, record: record, purpose: purpose))
    }

    /// An RSA key pair of `bits` bits, e = 65537.
    public func rsaKey(bits: Int, record: String, purpose: String) throws(CryptoError) -> AsymmetricKey {
        if case .pool(let pool) = self { return try pool.take(.rsa(bits: bits)) }
        guard case .seeded(let seed) = self else { return try .generateRSA(bits: bits) }
        let half = bits / 16
        let p = try AsymmetricKey.rsaPrime(from: stream(seed, record: record, purpose: purpose + "/p", count: half))
        let q = try AsymmetricKey.rsaPrime(from: stream(seed, record: record, purpose: purpose + "/q", count: half))
        return try .rsa(p: p, q: q, e: [0x01, 0x00, 0x01])
    }

    /// The Active Authentication key of the profile's type.
    public func activeAuthenticationKey(_ type: ActiveAuthenticationKeyType, record: String) throws -> AsymmetricKey {
        switch type {
        case .rsa(let bits): return try rsaKey(bits: bits, record: record, purpose: "AA")
        case .ec(let curve): return try ecKey(curve, record: record, purpose: "AA")
        }
    }

    /// A DH private exponent in [1, q − 1] of `group`.
    public func dhExponent(_ group: DHGroup, record: String) throws(CryptoError) -> [UInt8] {
        guard case .seeded = self else { return try group.randomExponent() }
        return Array(try scalar(below: group.q, record: record, purpose: "CA-DH").drop { $0 == 0 })
    }
}

/// Chip key pairs made ahead, on background threads at low priority, so that preparing a card takes a ready key
/// instead of waiting for RSA generation (the `jmrtd-applet` set's chips cannot make their own). Each kind the line
/// asks for is kept `depth` deep; a `take` that finds none makes one itself. The keys live in memory only until a
/// card takes them.
public final class ChipKeyPool: @unchecked Sendable, Equatable {
    public enum Kind: Hashable, Sendable {
        case rsa(bits: Int)
        case ec(NamedCurve)
    }

    private let condition = NSCondition()
    private var ready: [Kind: [AsymmetricKey]] = [:]
    private var wanted: Set<Kind> = []
    private var stopped = false
    private var running = 0
    public let depth: Int
    public private(set) var madeAhead = 0
    public private(set) var madeOnDemand = 0

    /// CPU seconds every pool's threads have spent making keys ahead, in this process (benchmarks take it apart
    /// from the cards' own host time).
    public static var secondsAhead: Double { aheadLock.withLock { aheadTotal } }
    private static let aheadLock = NSLock()
    nonisolated(unsafe) private static var aheadTotal = 0.0

    /// `kinds`: the keys to keep ready; `workers` background threads (the cores the line leaves idle).
    public init(kinds: Set<Kind>, depth: Int = 8, workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)) {
        self.depth = depth
        wanted = kinds
        running = workers
        for _ in 0..<workers {
            let thread = Thread { [self] in self.work() }
            thread.qualityOfService = .utility
            thread.start()
        }
    }

    /// The keys a profile's chips need from the host (none when its chips make their own).
    public convenience init?(profile: CardProfile, depth: Int = 8) {
        guard !profile.keysMadeOnChip else { return nil }
        var kinds: Set<Kind> = []
        if profile.offersChipAuthentication && profile.chipAuthentication.agreement == .ecdh {
            kinds.insert(.ec(profile.chipAuthenticationCurve))
        }
        if profile.offersActiveAuthentication {
            switch profile.activeAuthenticationKey {
            case .rsa(let bits): kinds.insert(.rsa(bits: bits))
            case .ec(let curve): kinds.insert(.ec(curve))
            }
        }
        guard !kinds.isEmpty else { return nil }
        self.init(kinds: kinds, depth: depth)
    }

    deinit { stop() }

    /// Stops the threads and waits for them: a key being made is finished first (a process must not exit while
    /// OpenSSL is busy on another thread: its exit handlers free what that thread uses).
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    /// A ready key of this kind, or one made now.
    public func take(_ kind: Kind) throws(CryptoError) -> AsymmetricKey {
        condition.lock()
        wanted.insert(kind)
        if var keys = ready[kind], let key = keys.popLast() {
            ready[kind] = keys
            condition.broadcast()
            condition.unlock()
            return key
        }
        madeOnDemand += 1
        condition.unlock()
        return try Self.make(kind)
    }

    /// How many keys of this kind are ready.
    public func count(_ kind: Kind) -> Int { condition.withLock { ready[kind]?.count ?? 0 } }

    static func make(_ kind: Kind) throws(CryptoError) -> AsymmetricKey {
        switch kind {
        case .rsa(let bits): return try .generateRSA(bits: bits)
        case .ec(let curve): return try .generateEC(curve)
        }
    }

    private func work() {
        defer {
            condition.lock()
            running -= 1
            condition.broadcast()
            condition.unlock()
        }
        while true {
            condition.lock()
            var next: Kind? = nil
            while !stopped {
                next = wanted.first { (ready[$0]?.count ?? 0) < depth }
                if next != nil { break }
                condition.wait()
            }
            condition.unlock()
            guard let kind = next, !stopped else { return }
            var start = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start)
            let made = try? Self.make(kind)
            var end = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &end)
            let spent = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
            Self.aheadLock.withLock { Self.aheadTotal += spent }
            guard let key = made else { continue }
            condition.lock()
            if (ready[kind]?.count ?? 0) < depth {
                ready[kind, default: []].append(key)
                madeAhead += 1
            }
            condition.unlock()
        }
    }

    public static func == (a: ChipKeyPool, b: ChipKeyPool) -> Bool { a === b }
}
