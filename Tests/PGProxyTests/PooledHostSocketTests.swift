#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Testing

@testable import PGProxy

/// The pooled host's socket: lent to the pooler, closed with its listener, and its clients seen in the
/// kernel's table.
@Suite struct PooledHostSocketTests {
    /// Connects a blocking TCP client to `address:port`; returns its descriptor (the connection stays in
    /// the listener's backlog, established, whether or not anyone accepts it).
    static func connectClient(_ address: String, _ port: Int) -> Int32 {
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &target.sin_addr)
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        return client
    }

    @Test func itsClientsAreSeenWhereverTheyAreInTheKernelsTable() throws {
        let address = "127.77.\(Int.random(in: 1...250)).2"
        let port = Int.random(in: 20_000...30_000)
        let (host, forNIO) = try PooledHostSocket.listen(address: address, port: port, backlog: 512)
        defer {
            Glibc.close(forNIO)
            host.close()
        }
        #expect(!host.hasClients())
        // Other connections first, so that this host's come well past the table's first page (procfs
        // files claim a size of 0, and a reader that trusts it sees one page).
        let (other, otherForNIO) = try PooledHostSocket.listen(address: "127.77.251.2", port: port, backlog: 512)
        let crowd = (0..<300).map { _ in Self.connectClient("127.77.251.2", port) }
        let client = Self.connectClient(address, port)
        #expect(host.hasClients())
        #expect(PooledHostSocket.read("/proc/net/tcp").count > 16 * 4096)
        Glibc.close(client)
        for descriptor in crowd { Glibc.close(descriptor) }
        Glibc.close(otherForNIO)
        other.close()
    }

    @Test func aClosedHostLendsNothing() throws {
        let (host, forNIO) = try PooledHostSocket.listen(address: "127.77.252.2", port: Int.random(in: 30_001...40_000), backlog: 16)
        defer { Glibc.close(forNIO) }
        let lent = try #require(host.lend())
        #expect(lent >= 0 && fcntl(lent, F_GETFD) & FD_CLOEXEC != 0)
        Glibc.close(lent)
        host.close()
        #expect(host.lend() == nil)
        #expect(host.handOver() && !host.handOver())
        host.takeBack()
        #expect(host.handOver())
    }
}
