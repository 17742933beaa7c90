#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import NIOCore
import Synchronization

/// The listening socket of an endpoint's pooled host (its own address at the shared port), which Kiln and
/// the endpoint's connection pooler take turns to accept on. Kiln accepts while the compute is
/// suspended (a client wakes it); once PgBouncer runs with this socket (passed in by socket activation),
/// Kiln stops accepting and PgBouncer serves the host's clients itself, without a relay, until it exits.
/// One socket, two holders: a client waiting in the backlog is never refused during the change.
final class PooledHostSocket: Sendable {
    let address: String
    let port: Int
    private struct State {
        /// Kiln's second descriptor of the socket (NIO owns the first); -1 once closed.
        var descriptor: Int32
        /// Whether the pooler accepts on it now.
        var handedOver = false
        /// Kiln's listener on the socket: a NIO server channel.
        var listener: (any Channel)?
    }
    private let state: Mutex<State>

    /// Binds and listens on `address:port`; returns the socket and the descriptor for NIO to own.
    /// Throws `IOError` when the address cannot be bound.
    static func listen(address: String, port: Int, backlog: Int32) throws -> (socket: PooledHostSocket, forNIO: Int32) {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            throw IOError(errnoCode: EINVAL, reason: "not an IPv4 address: \(address)")
        }
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let second = bound == 0 ? fcntl(descriptor, F_DUPFD_CLOEXEC, 0) : -1
        guard bound == 0, second >= 0, Glibc.listen(descriptor, backlog) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            if second >= 0 { Glibc.close(second) }
            throw IOError(errnoCode: code, reason: "bind(\(address):\(port))")
        }
        return (PooledHostSocket(address: address, port: port, descriptor: second), descriptor)
    }

    private init(address: String, port: Int, descriptor: Int32) {
        self.address = address
        self.port = port
        self.state = Mutex(State(descriptor: descriptor))
    }

    deinit { close() }

    /// A copy of the socket's descriptor for a pooler to start with, which the caller closes; nil once the
    /// listener is gone.
    func lend() -> Int32? {
        state.withLock { state in
            guard state.descriptor >= 0 else { return nil }
            let copy = fcntl(state.descriptor, F_DUPFD_CLOEXEC, 0)
            return copy >= 0 ? copy : nil
        }
    }

    /// Gives up Kiln's second descriptor: the listener was removed (NIO closes the first).
    func close() {
        let descriptor = state.withLock { state in
            defer { state.descriptor = -1 }
            return state.descriptor
        }
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// Makes `listener` Kiln's listener on the socket: it accepts while the socket is not handed over.
    func attach(_ listener: any Channel) {
        state.withLock { $0.listener = listener }
        applyOwner()
    }

    /// Gives the socket to the pooler: Kiln's listener stops accepting. False if it was the pooler's already.
    func handOver() -> Bool {
        let changed = state.withLock { state in
            if state.handedOver { return false }
            state.handedOver = true
            return true
        }
        if changed { applyOwner() }
        return changed
    }

    /// Takes the socket back (the pooler exited): Kiln's listener accepts again.
    func takeBack() {
        state.withLock { $0.handedOver = false }
        applyOwner()
    }

    /// Sets Kiln's listener accepting (NIO's `autoRead`) exactly while the socket is Kiln's. The owner is read
    /// on the listener's event loop, where the option is set, so that hand-overs and take-backs made on any
    /// threads in any order leave the listener as the last of them says.
    private func applyOwner() {
        guard let listener = state.withLock({ $0.listener }) else { return }
        listener.eventLoop.execute {
            let accepts = self.state.withLock { !$0.handedOver }
            listener.setOption(ChannelOptions.autoRead, value: accepts).whenComplete { _ in }
        }
    }

    /// Whether any TCP connection to this address and port is established (a client of the pooler),
    /// from the kernel's table (`/proc/net/tcp`: the local address as the hex of its network-order bytes
    /// read as a little-endian word, state `01`).
    func hasClients() -> Bool {
        let table = Self.read("/proc/net/tcp")
        var address = in_addr()
        inet_pton(AF_INET, self.address, &address)
        let local = Array(String(format: "%08X:%04X", address.s_addr, UInt32(port)).utf8)
        let established = Array("01".utf8)
        for line in table.split(separator: UInt8(ascii: "\n")).dropFirst() {
            // "   0: 0100007F:1538 00000000:0000 0A …": slot, local address, remote address, state.
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 4)
            if fields.count > 3, fields[1].elementsEqual(local), fields[3].elementsEqual(established) { return true }
        }
        return false
    }

    /// A file's whole content, read until its end: procfs files report a size of 0 (Foundation's readers
    /// stop at the first page of them). Empty when it cannot be read.
    static func read(_ path: String) -> [UInt8] {
        let file = open(path, O_RDONLY | O_CLOEXEC)
        guard file >= 0 else { return [] }
        defer { Glibc.close(file) }
        var content: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(file, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return content }
            content += chunk[..<count]
        }
    }
}
