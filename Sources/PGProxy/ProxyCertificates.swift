import Crypto
import Foundation
import NIOCore
public import NIOSSL
import SwiftASN1
import X509

/// The installation's own certificate authority and the proxy's server certificate, made once in
/// `directory` (`ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`). Clients verify the server with
/// `sslrootcert=<directory>/ca.pem`. The server certificate names `*.<domain>`, `<domain>`,
/// `localhost` and the listen address, and is made again when those change.
public struct ProxyCertificates: Sendable {
    public let directory: String
    public var caPath: String { directory + "/ca.pem" }

    public init(directory: String) {
        self.directory = directory
    }

    /// Loads (or makes) the certificates and returns the proxy's TLS configuration.
    public func serverConfiguration(domain: String, host: String) throws -> TLSConfiguration {
        try serverConfiguration(dnsNames: [domain, "*." + domain, "localhost"], address: host, file: "server")
    }

    /// Loads (or makes) a server certificate from the same authority, `<file>.pem` and `<file>-key.pem`,
    /// for `dnsNames` and the listen `address` (an IP address or a host name), and returns its TLS
    /// configuration. Kiln's HTTPS API uses it with the file name `http`.
    public func serverConfiguration(dnsNames: [String], address: String, file: String) throws -> TLSConfiguration {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let names = (dnsNames + [address]).joined(separator: ",")
        let namesPath = directory + "/\(file).names"
        let (caKey, caCertificate) = try certificateAuthority()
        if (try? String(contentsOfFile: namesPath, encoding: .utf8)) != names
            || !Self.isIssued(by: caCertificate, certificateAt: directory + "/\(file).pem")
        {
            try makeServerCertificate(dnsNames: dnsNames, address: address, file: file, caKey: caKey, ca: caCertificate)
            try names.write(toFile: namesPath, atomically: true, encoding: .utf8)
        }
        let chain = try NIOSSLCertificate.fromPEMFile(directory + "/\(file).pem")
        let key = try NIOSSLPrivateKey(file: directory + "/\(file)-key.pem", format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // When the proxy hangs up (Kiln stops, the compute went away) it waits this long for the client's
        // close_notify, which libpq never sends; NIOSSL's default of 5 s held every TLS session that long.
        configuration.shutdownTimeout = .milliseconds(200)
        return configuration
    }

    /// Loads (or makes) the server certificate of an endpoint's own `address` (`endpoint-<address>.pem`)
    /// and returns its TLS configuration.
    public func addressConfiguration(_ address: String) throws -> TLSConfiguration {
        try serverConfiguration(dnsNames: [], address: address, file: "endpoint-\(address)")
    }

    /// The PEM files of `address`'s certificate and key, once `addressConfiguration` made them.
    public func addressFiles(_ address: String) -> (certificate: String, key: String) {
        (directory + "/endpoint-\(address).pem", directory + "/endpoint-\(address)-key.pem")
    }

    private func certificateAuthority() throws -> (P256.Signing.PrivateKey, Certificate) {
        let keyPath = directory + "/ca-key.pem"
        if let keyText = try? String(contentsOfFile: keyPath, encoding: .utf8),
            let certificateText = try? String(contentsOfFile: caPath, encoding: .utf8)
        {
            return (try P256.Signing.PrivateKey(pemRepresentation: keyText), try Certificate(pemEncoded: certificateText))
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("Kiln Postgres CA") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 10 * 365 * 86400,
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(key))
        try write(key.pemRepresentation, to: keyPath, mode: 0o600)
        try write(try certificate.serializeAsPEM().pemString, to: caPath, mode: 0o644)
        return (key, certificate)
    }

    private func makeServerCertificate(
        dnsNames: [String], address: String, file: String, caKey: P256.Signing.PrivateKey, ca: Certificate
    ) throws {
        let key = P256.Signing.PrivateKey()
        var alternativeNames: [GeneralName] = dnsNames.map { .dnsName($0) }
        var ipv4 = in_addr()
        var ipv6 = in6_addr()
        if inet_pton(AF_INET, address, &ipv4) == 1 {
            alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: ipv4) { ArraySlice($0) })))
        } else if inet_pton(AF_INET6, address, &ipv6) == 1 {
            alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: ipv6) { ArraySlice($0) })))
        } else if !address.isEmpty {
            alternativeNames.append(.dnsName(address))
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 2 * 365 * 86400,
            issuer: ca.subject, subject: try DistinguishedName { CommonName(dnsNames.first ?? address) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(caKey))
        try write(key.pemRepresentation, to: directory + "/\(file)-key.pem", mode: 0o600)
        try write(try certificate.serializeAsPEM().pemString, to: directory + "/\(file).pem", mode: 0o644)
    }

    /// Whether the certificate at `path` exists and was signed by `ca` (a new authority, after the old one's
    /// files were removed to rotate it, reissues every server certificate).
    static func isIssued(by ca: Certificate, certificateAt path: String) -> Bool {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let certificate = try? Certificate(pemEncoded: text) else {
            return false
        }
        return ca.publicKey.isValidSignature(certificate.signature, for: certificate)
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }
}
