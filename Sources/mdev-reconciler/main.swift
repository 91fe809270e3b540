import MdevCLI

MdevReconcilerCommand.main()
