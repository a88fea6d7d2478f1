import StrataMigrations
import Testing

@Suite struct MigrationChecksumTests {
    @Test func isTheSHA256OfTheNormalisedText() {
        #expect(MigrationChecksum(contents: "abc").hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(MigrationChecksum(contents: "abc \r\n\r\n\t\n").hex == MigrationChecksum(contents: "abc").hex)
        #expect(MigrationChecksum(contents: "\n\n").hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func ignoresLineEndingsAndTrailingBlanksOnly() {
        let original = "CREATE TABLE t (\n  id INT\n);\n"
        for same in ["CREATE TABLE t (\r\n  id INT\r\n);\r\n", "CREATE TABLE t (\r  id INT\r);", "CREATE TABLE t ( \t\n  id INT  \n);\n\n\n"] {
            #expect(MigrationChecksum(contents: same) == MigrationChecksum(contents: original))
        }
        for different in ["CREATE TABLE t (\n id INT\n);", "\nCREATE TABLE t (\n  id INT\n);", "CREATE TABLE t (\n  id INT\n); -- c"] {
            #expect(MigrationChecksum(contents: different) != MigrationChecksum(contents: original))
        }
        #expect(MigrationChecksum.normalise("a \r\nb\t\r\n\r\n") == "a\nb")
    }
}
