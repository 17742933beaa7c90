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
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let names = [domain, "*." + domain, "localhost", host].joined(separator: ",")
        let namesPath = directory + "/server.names"
        let (caKey, caCertificate) = try certificateAuthority()
        if (try? String(contentsOfFile: namesPath, encoding: .utf8)) != names
            || !FileManager.default.fileExists(atPath: directory + "/server.pem") {
            try makeServerCertificate(domain: domain, host: host, caKey: caKey, ca: caCertificate)
            try names.write(toFile: namesPath, atomically: true, encoding: .utf8)
        }
        let chain = try NIOSSLCertificate.fromPEMFile(directory + "/server.pem")
        let key = try NIOSSLPrivateKey(file: directory + "/server-key.pem", format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // When the proxy hangs up (Kiln stops, the compute went away) it waits this long for the client's
        // close_notify, which libpq never sends; NIOSSL's default of 5 s held every TLS session that long.
        configuration.shutdownTimeout = .milliseconds(200)
        return configuration
    }

    private func certificateAuthority() throws -> (P256.Signing.PrivateKey, Certificate) {
        let keyPath = directory + "/ca-key.pem"
        if let keyText = try? String(contentsOfFile: keyPath, encoding: .utf8),
           let certificateText = try? String(contentsOfFile: caPath, encoding: .utf8) {
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

    private func makeServerCertificate(domain: String, host: String, caKey: P256.Signing.PrivateKey, ca: Certificate) throws {
        let key = P256.Signing.PrivateKey()
        var alternativeNames: [GeneralName] = [.dnsName(domain), .dnsName("*." + domain), .dnsName("localhost")]
        var address = in_addr()
        if inet_pton(AF_INET, host, &address) == 1 {
            alternativeNames.append(.ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: address) { ArraySlice($0) })))
        } else if !host.isEmpty {
            alternativeNames.append(.dnsName(host))
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 2 * 365 * 86400,
            issuer: ca.subject, subject: try DistinguishedName { CommonName(domain) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(alternativeNames)
            },
            issuerPrivateKey: .init(caKey))
        try write(key.pemRepresentation, to: directory + "/server-key.pem", mode: 0o600)
        try write(try certificate.serializeAsPEM().pemString, to: directory + "/server.pem", mode: 0o644)
    }

    private func write(_ text: String, to path: String, mode: Int) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }
}
