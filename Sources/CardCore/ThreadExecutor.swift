import Foundation

/// A task executor on threads of its own (`Task(executorPreference:)`), for async work that a synchronous caller
/// waits for: the PostgreSQL journal's bridge (a station thread, or a caller on the shared task pool, blocks until
/// the query's task ends; on the shared pool that task could wait for the very threads its callers hold), and a
/// server under test, whose answers must not wait for the test suite's pool. Its threads live as long as the
/// process: make one per purpose, once.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    /// For a server under test.
    public static let testServer = ThreadExecutor(threads: 2, name: "cccdkit-test-server")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    public init(threads: Int, name: String) {
        for index in 0..<threads {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
