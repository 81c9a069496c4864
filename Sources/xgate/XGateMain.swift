import XGateCLI

/// The `xgate` executable: everything is in XGateCLI.
@main
struct XGateMain {
    static func main() async {
        await XGate.start()
    }
}
