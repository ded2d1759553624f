import FuzzTargets

#if canImport(Glibc)
    import Glibc
#endif

/// `cccd-fuzz list | seeds TARGET DIR | run TARGET [libFuzzer options] [corpus…] | replay TARGET FILE…`
///
/// `run` hands over to libFuzzer's own driver (`LLVMFuzzerRunDriver`, linked in by `-sanitize=fuzzer` and found
/// with dlsym, since this program has its own `main`): every libFuzzer option works as documented.
@main
struct Driver {
    typealias Callback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    typealias RunDriver =
        @convention(c) (
            UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
            Callback
        ) -> Int32

    nonisolated(unsafe) static var target: FuzzTarget?

    static let usage = """
        usage: cccd-fuzz list
               cccd-fuzz seeds TARGET DIR        write TARGET's seed inputs into DIR
               cccd-fuzz run TARGET [libFuzzer options] [CORPUS_DIR…]
               cccd-fuzz replay TARGET FILE…     run inputs once each, print what each did
        """

    static func main() {
        var args = CommandLine.arguments
        let program = args.removeFirst()
        // libFuzzer's -jobs/-fork start this program again with the options only: the target comes from the
        // environment then.
        if let name = getenv("CCCD_FUZZ_TARGET").map({ String(cString: $0) }), args.first.map(isOption) ?? true {
            guard let t = FuzzTargets.named(name) else { fail("CCCD_FUZZ_TARGET: no target \(name)") }
            start(t, program: program, options: args)
        }
        guard let command = args.first else { fail(usage) }
        args.removeFirst()
        switch command {
        case "list":
            for t in FuzzTargets.all { print(t.name.padding(toLength: 18, withPad: " ", startingAt: 0) + t.summary) }
        case "seeds":
            guard args.count == 2, let t = FuzzTargets.named(args[0]) else { fail(usage) }
            let seeds = t.seeds()
            guard !seeds.isEmpty else { fail("\(t.name): no seeds (is Vectors/ there?)") }
            for (i, seed) in seeds.enumerated() { write(seed, to: args[1] + "/seed-\(i)") }
            print("\(t.name): \(seeds.count) seeds")
        case "replay":
            guard args.count >= 1, let t = FuzzTargets.named(args[0]) else { fail(usage) }
            for path in args.dropFirst() {
                guard let bytes = read(path) else { fail("cannot read \(path)") }
                print("\(path): \(t.run(bytes))")
            }
        case "run":
            guard args.count >= 1, let t = FuzzTargets.named(args[0]) else { fail(usage) }
            setenv("CCCD_FUZZ_TARGET", t.name, 1)
            start(t, program: program, options: Array(args.dropFirst()))
        default:
            fail(usage)
        }
    }

    /// An option or a corpus path, as libFuzzer passes them (not one of this program's commands).
    static func isOption(_ arg: String) -> Bool { arg.hasPrefix("-") || arg.hasPrefix("/") || arg.hasPrefix(".") }

    static func start(_ t: FuzzTarget, program: String, options: [String]) -> Never {
        target = t
        _ = t.run([])  // the target's statics are built before the first input (not counted as a slow input)
        run(program: program, options: options)
    }

    static func run(program: String, options: [String]) -> Never {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "LLVMFuzzerRunDriver") else {
            fail("this build has no libFuzzer: build it with scripts/fuzz.sh (-sanitize=fuzzer,address)")
        }
        let driver = unsafeBitCast(symbol, to: RunDriver.self)
        var cArgs: [UnsafeMutablePointer<CChar>?] = ([program] + options).map { strdup($0) } + [nil]
        var argc = Int32(options.count + 1)
        let code = cArgs.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
            return driver(&argc, &argv) { data, size in
                let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
                _ = Driver.target?.run(bytes)
                return 0
            }
        }
        exit(code)
    }

    static func fail(_ message: String) -> Never {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBufferPointer { Glibc.write(2, $0.baseAddress, $0.count) }
        exit(2)
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            out += buffer[0..<n]
            if n < buffer.count { return out }
        }
    }

    static func write(_ bytes: [UInt8], to path: String) {
        guard let f = fopen(path, "wb") else { fail("cannot write \(path)") }
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, f) }
        fclose(f)
    }
}
