import Foundation

/// A task executor on threads of its own. A server under test runs on it (`Task(executorPreference:)`), so that
/// its answers do not wait for the shared cooperative pool, which the parallel suite's blocking tests may hold for
/// minutes on a two-core machine: the test then measures the server, not the pool.
public final class DedicatedExecutor: TaskExecutor, @unchecked Sendable {
    /// One for the test process (its threads live as long as the process).
    public static let shared = DedicatedExecutor(threads: 2, name: "cccdkit-test-server")

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
