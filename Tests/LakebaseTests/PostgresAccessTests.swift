import Testing

@testable import Lakebase

/// Where an endpoint is reached (`status.hosts.host`): its own loopback address when endpoints have them.
@Suite struct PostgresAccessTests {
    @Test func anEndpointsAddressIsAFunctionOfItsPort() {
        #expect(PostgresAccess.address(forPort: 55000) == "127.214.216.1")
        #expect(PostgresAccess.address(forPort: 55001) == "127.214.217.1")
        #expect(PostgresAccess.address(forPort: 5432) == "127.21.56.1")
    }

    @Test func noTwoPortsShareAnAddressAndNoneIsTheProxysOwn() {
        let addresses = (1024..<65536).map(PostgresAccess.address(forPort:))
        #expect(Set(addresses).count == addresses.count)
        #expect(!addresses.contains("127.0.0.1"))
    }

    @Test func endpointsReportTheirAddressOnlyWhenTheyHaveOne() {
        let with = PostgresAccess(sharedPort: 5432, endpointAddresses: true)
        #expect(with.host(port: 55000, proxyHost: "127.0.0.1") == "127.214.216.1")
        #expect(with.host(port: nil, proxyHost: "127.0.0.1") == "127.0.0.1")
        #expect(PostgresAccess(sharedPort: 5432).host(port: 55000, proxyHost: "127.0.0.1") == "127.0.0.1")
        // No shared port, no address to listen on.
        #expect(!PostgresAccess(sharedPort: nil, endpointAddresses: true).endpointAddresses)
    }

    @Test func pooledHostsNeedEndpointAddressesAndAPoolerAndNeverMeetADirectOne() {
        let with = PostgresAccess(sharedPort: 5432, endpointAddresses: true, pooler: true)
        #expect(with.pooledHost(port: 55000) == "127.214.216.2")
        #expect(PostgresAccess(sharedPort: 5432, endpointAddresses: true).pooledHost(port: 55000) == nil)
        #expect(PostgresAccess(sharedPort: 5432, endpointAddresses: false, pooler: true).pooledHost(port: 55000) == nil)
        let direct = Set((1024..<65536).map(PostgresAccess.address(forPort:)))
        #expect(direct.isDisjoint(with: (1024..<65536).map(PostgresAccess.pooledAddress(forPort:))))
    }
}
