import Compute
import Logging
import ServiceLifecycle

/// Unmounts the copy-on-write volume when Kiln stops, after every compute has stopped (it is the first
/// service added, so the last to stop), so that nothing of Kiln stays mounted or holds a loop device.
struct StorageVolumeService: Service {
    let volume: StorageVolume
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        do {
            try await volume.unmount()
        } catch {
            logger.warning("The copy-on-write volume stays mounted: \(error). Unmount it with `umount \(volume.mountPoint)`.")
        }
    }
}
