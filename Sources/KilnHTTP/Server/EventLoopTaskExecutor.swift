import NIOCore

/// Runs a task's jobs on one NIO event loop, for `EventLoopResponder`: a request answered by a task that
/// prefers this executor runs where its connection's bytes arrived, with no hand-off to Swift's global
/// executor and back (two thread wake-ups per request, each dearer on this kind of machine than the read of
/// a row). Only the task's own jobs run here; actors keep their executors.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
