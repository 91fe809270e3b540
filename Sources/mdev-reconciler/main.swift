import MdevCLI

await MdevReconcilerCommand.start()
