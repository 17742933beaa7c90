import Foundation
import NIOCore
import NIOSSL
import SwiftASN1
import Testing
import X509
@testable import PGProxy

/// The installation's CA and server certificates, made in a temporary directory: who signs them, the
/// names they cover, the files' permissions, and when they are made again.
@Suite struct ProxyCertificatesTests {
    static func withDirectory(_ body: (String) throws -> Void) throws {
        let root = NSTemporaryDirectory() + "kiln-certs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try body(root + "/tls") // a folder that does not exist yet
    }

    static func certificate(_ path: String) throws -> Certificate {
        try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
    }

    static func names(_ certificate: Certificate) throws -> [GeneralName] {
        Array(try #require(try certificate.extensions.subjectAlternativeNames))
    }

    static func permissions(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func theServerCertificateIsSignedByTheCAForTheDomainAndAddress() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            let configuration = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            #expect(configuration.certificateChain.count == 1)
            #expect(configuration.shutdownTimeout == .milliseconds(200))
            let ca = try Self.certificate(certificates.caPath)
            let server = try Self.certificate(directory + "/server.pem")
            #expect(server.issuer == ca.subject && ca.issuer == ca.subject)
            #expect(ca.publicKey.isValidSignature(server.signature, for: server))
            #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
            #expect(try server.extensions.basicConstraints == .notCertificateAuthority)
            #expect(try server.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
            #expect(
                try Self.names(server) == [
                    .dnsName("kiln.test"), .dnsName("*.kiln.test"), .dnsName("localhost"),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ])
            #expect(server.notValidBefore < Date() && server.notValidAfter > Date() + 365 * 86400)
        }
    }

    @Test func keysAreReadableOnlyByTheOwner() throws {
        try Self.withDirectory { directory in
            _ = try ProxyCertificates(directory: directory).serverConfiguration(domain: "kiln.test", host: "")
            #expect(try Self.permissions(directory) == 0o700)
            #expect(try Self.permissions(directory + "/ca-key.pem") == 0o600)
            #expect(try Self.permissions(directory + "/server-key.pem") == 0o600)
            #expect(try Self.permissions(directory + "/ca.pem") == 0o644)
        }
    }

    @Test func aHostNameAddressIsADNSNameAndAnEmptyOneIsLeftOut() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            _ = try certificates.serverConfiguration(dnsNames: ["a.test"], address: "db.internal", file: "named")
            #expect(try Self.names(Self.certificate(directory + "/named.pem")) == [.dnsName("a.test"), .dnsName("db.internal")])
            _ = try certificates.serverConfiguration(dnsNames: ["a.test"], address: "", file: "bare")
            #expect(try Self.names(Self.certificate(directory + "/bare.pem")) == [.dnsName("a.test")])
        }
    }

    @Test func anIPv6AddressIsAnIPAddressName() throws {
        try Self.withDirectory { directory in
            _ = try ProxyCertificates(directory: directory).serverConfiguration(dnsNames: ["a.test"], address: "::1", file: "v6")
            let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            #expect(try Self.names(Self.certificate(directory + "/v6.pem")) == [.dnsName("a.test"), .ipAddress(ASN1OctetString(contentBytes: loopback[...]))])
        }
    }

    @Test func certificatesAreKeptUntilTheirNamesChange() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            func read(_ name: String) throws -> String { try String(contentsOfFile: directory + "/" + name, encoding: .utf8) }
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            let (ca, server) = (try read("ca.pem"), try read("server.pem"))
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            #expect(try read("ca.pem") == ca && read("server.pem") == server)

            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "10.1.2.3")
            #expect(try read("ca.pem") == ca)
            #expect(try read("server.pem") != server)
            let remade = try Self.certificate(directory + "/server.pem")
            #expect(try Self.names(remade).contains(.ipAddress(ASN1OctetString(contentBytes: [10, 1, 2, 3]))))
            #expect(try Self.certificate(certificates.caPath).publicKey.isValidSignature(remade.signature, for: remade))
        }
    }

    @Test func aDeletedServerCertificateIsMadeAgainByTheSameCA() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            try FileManager.default.removeItem(atPath: directory + "/server.pem")
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            let server = try Self.certificate(directory + "/server.pem")
            #expect(try Self.certificate(certificates.caPath).publicKey.isValidSignature(server.signature, for: server))
        }
    }

    @Test func aNewAuthorityReissuesTheServerCertificate() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            try FileManager.default.removeItem(atPath: directory + "/ca.pem")
            try FileManager.default.removeItem(atPath: directory + "/ca-key.pem")
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            let server = try Self.certificate(directory + "/server.pem")
            #expect(try Self.certificate(certificates.caPath).publicKey.isValidSignature(server.signature, for: server))
        }
    }

    /// Kiln's HTTPS API gets its own certificate (`http.pem`) from the same authority.
    @Test func otherServersShareTheAuthority() throws {
        try Self.withDirectory { directory in
            let certificates = ProxyCertificates(directory: directory)
            _ = try certificates.serverConfiguration(domain: "kiln.test", host: "127.0.0.1")
            _ = try certificates.serverConfiguration(dnsNames: ["api.kiln.test"], address: "127.0.0.1", file: "http")
            let ca = try Self.certificate(certificates.caPath)
            let http = try Self.certificate(directory + "/http.pem")
            #expect(ca.publicKey.isValidSignature(http.signature, for: http))
            #expect(try Self.names(http).first == .dnsName("api.kiln.test"))
            #expect(FileManager.default.fileExists(atPath: directory + "/server.pem"))
        }
    }
}
