import Foundation

/// Waits, from synchronous code (a command's `run`, the bench), for async work started on the shared task pool.
/// Never call it from a task of that pool: it would hold one of the threads the work needs.
public func waitFor<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let result = Locked<Result<T, any Error>?>(nil)
    Task {
        do { result.set(.success(try await body())) } catch { result.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try result.get()!.get()
}
