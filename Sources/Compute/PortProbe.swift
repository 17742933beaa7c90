#if canImport(Glibc)
    import Glibc
#endif

/// The one check of whether a TCP port is free: Kiln's port choices for endpoints and maintenance
/// servers, and the tests' own, all ask it.
public enum PortProbe {
    /// Whether a listener could bind `port` on `host` (IPv4, `SO_REUSEADDR` as postgres and the proxy
    /// set it) right now.
    public static func canBind(port: Int, host: String = "127.0.0.1") -> Bool {
        bound(port: port, host: host) != nil
    }

    /// A port the kernel picks among the free ones (bind to port 0), for tests and one-off listeners.
    public static func anyFreePort(host: String = "127.0.0.1") -> Int {
        bound(port: 0, host: host) ?? 0
    }

    /// Binds a socket to `port` (0: any) and returns the port it got, closing it again; nil if it cannot.
    private static func bound(port: Int, host: String) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host.isEmpty ? "127.0.0.1" : host)
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        return ok ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
