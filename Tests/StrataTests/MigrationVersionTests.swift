import StrataMigrations
import Testing

@Suite struct MigrationVersionTests {
    @Test func parsesPositiveIntegersOfUpTo20Digits() {
        #expect(MigrationVersion("0007")?.digits == "7")
        #expect(MigrationVersion("99999999999999999999")?.digits == "99999999999999999999")
        for bad in ["", "0", "000", "-1", "+1", "1.0", "1e3", " 1", "١", "123456789012345678901"] {
            #expect(MigrationVersion(bad) == nil, "\(bad)")
        }
    }

    @Test func comparesAsIntegers() {
        let versions = ["10", "9", "0010", "20231101120000", "99999999999999999999", "18446744073709551616", "1"]
            .compactMap(MigrationVersion.init)
        #expect(versions.sorted().map(\.description)
                == ["1", "9", "10", "10", "20231101120000", "18446744073709551616", "99999999999999999999"])
        #expect(MigrationVersion("0010") == MigrationVersion("10"))
        #expect(Set(versions).count == 6)
    }

    @Test func hasASuccessor() {
        #expect(MigrationVersion("0041")?.successor()?.description == "42")
        #expect(MigrationVersion("1999")?.successor()?.description == "2000")
        #expect(MigrationVersion("9999")?.successor()?.description == "10000")
        #expect(MigrationVersion("99999999999999999999")?.successor() == nil)
    }
}
