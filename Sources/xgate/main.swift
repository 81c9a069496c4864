import XGateCLI

XGate.main()
