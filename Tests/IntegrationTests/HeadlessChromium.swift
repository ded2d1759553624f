import Foundation
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's Chromium, headless, driven through the DevTools protocol over a pipe (`--remote-debugging-pipe`:
/// commands on its fd 3, answers on its fd 4, each JSON message ended by a NUL byte). Enough of the protocol to load
/// a page, type into it, read the DOM and take a screenshot.
final class HeadlessChromium: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let candidates = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]

    let pid: pid_t
    private let toBrowser: FileHandle
    private let fromBrowser: FileHandle
    private let profile: String
    private let lock = NSCondition()
    private var buffer = Data()
    private var messages: [[String: Any]] = []
    private var closed = false
    private var nextID = 0
    private(set) var session: String = ""

    /// Starts Chromium; fails loudly (never skips) when it is not installed.
    init() throws {
        guard let binary = Self.candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(description: "chromium is not installed (Debian package chromium; make deps installs it)")
        }
        profile = NSTemporaryDirectory() + "cccdkit-chromium-\(UUID().uuidString)"
        let commands = Pipe()
        let answers = Pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, commands.fileHandleForReading.fileDescriptor, 3)
        posix_spawn_file_actions_adddup2(&actions, answers.fileHandleForWriting.fileDescriptor, 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        try ChildProcess.closeFrom(&actions, 5)
        let arguments = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--remote-debugging-pipe", "--user-data-dir=\(profile)", "--window-size=1200,800",
            "about:blank",
        ]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary, &actions, nil, &argv, environ)
        guard rc == 0 else { throw Failure(description: "cannot start \(binary) (errno \(rc))") }
        pid = child
        try? commands.fileHandleForReading.close()
        try? answers.fileHandleForWriting.close()
        toBrowser = commands.fileHandleForWriting
        fromBrowser = answers.fileHandleForReading
        let reader = Thread { [self] in readLoop() }
        reader.start()
        let target = try send("Target.createTarget", ["url": "about:blank"])
        guard let targetID = target["targetId"] as? String else { throw Failure(description: "no target: \(target)") }
        let attached = try send("Target.attachToTarget", ["targetId": targetID, "flatten": true])
        guard let id = attached["sessionId"] as? String else { throw Failure(description: "no session: \(attached)") }
        session = id
        _ = try send("Page.enable", [:], inSession: true)
    }

    private func readLoop() {
        while true {
            let chunk = fromBrowser.availableData
            lock.lock()
            if chunk.isEmpty {
                closed = true
                lock.broadcast()
                lock.unlock()
                return
            }
            buffer.append(chunk)
            while let end = buffer.firstIndex(of: 0) {
                let message = buffer[buffer.startIndex..<end]
                buffer = Data(buffer[buffer.index(after: end)...])
                if let object = try? JSONSerialization.jsonObject(with: message) as? [String: Any] {
                    messages.append(object)
                }
            }
            lock.broadcast()
            lock.unlock()
        }
    }

    /// Sends one command and waits (at most `timeout` s) for its answer's `result`.
    @discardableResult
    func send(_ method: String, _ params: [String: Any], inSession: Bool = false, timeout: TimeInterval = 20) throws
        -> [String: Any]
    {
        lock.lock()
        nextID += 1
        let id = nextID
        lock.unlock()
        var message: [String: Any] = ["id": id, "method": method, "params": params]
        if inSession { message["sessionId"] = session }
        var data = try JSONSerialization.data(withJSONObject: message)
        data.append(0)
        try toBrowser.write(contentsOf: data)
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while true {
            if let i = messages.firstIndex(where: { $0["id"] as? Int == id }) {
                let answer = messages.remove(at: i)
                if let error = answer["error"] { throw Failure(description: "\(method): \(error)") }
                return answer["result"] as? [String: Any] ?? [:]
            }
            // Events are not needed: drop them so they do not pile up.
            messages.removeAll { $0["id"] == nil }
            if closed { throw Failure(description: "chromium went away during \(method)") }
            guard lock.wait(until: deadline) else {
                throw Failure(description: "no answer to \(method) in \(timeout) s")
            }
        }
    }

    func navigate(_ url: String) throws { try send("Page.navigate", ["url": url], inSession: true) }

    /// The value of a JavaScript expression in the page (JSON-like: strings, numbers, booleans, arrays, objects).
    func evaluate(_ expression: String) throws -> Any? {
        let result = try send(
            "Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true],
            inSession: true)
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `expression` is true in the page.
    func waitFor(_ expression: String, timeout: TimeInterval = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try evaluate("Boolean(\(expression))") as? Bool == true { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure(description: "the page never satisfied \(expression) within \(timeout) s")
    }

    /// Types text into the focused element, as a keyboard (or a barcode scanner in keyboard mode) does.
    func type(_ text: String) throws { try send("Input.insertText", ["text": text], inSession: true) }

    func press(_ key: String, code: String, keyCode: Int) throws {
        for type in ["keyDown", "keyUp"] {
            var params: [String: Any] = [
                "type": type, "key": key, "code": code, "windowsVirtualKeyCode": keyCode,
                "nativeVirtualKeyCode": keyCode,
            ]
            if type == "keyDown" && key == "Enter" { params["text"] = "\r" }
            try send("Input.dispatchKeyEvent", params, inSession: true)
        }
    }

    func screenshot() throws -> Data {
        let shot = try send("Page.captureScreenshot", ["format": "png"], inSession: true)
        guard let base64 = shot["data"] as? String, let data = Data(base64Encoded: base64) else {
            throw Failure(description: "no screenshot")
        }
        return data
    }

    func close() {
        _ = try? send("Browser.close", [:], timeout: 5)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        try? toBrowser.close()
        try? FileManager.default.removeItem(atPath: profile)
    }
}
