import CLibFuzzer
import Foundation

/// The callback, also under the name that libFuzzer's own `main` (linked in, but not
/// the program's entry point: SwiftPM points `main` at this file) refers to.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzz(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
}

// libFuzzer runs the inputs; its flags come from the command line (see scripts/fuzz).
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
