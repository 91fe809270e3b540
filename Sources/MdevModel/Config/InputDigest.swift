/// What names the inputs in force: SHA-256 in hex over the config file's bytes, a NUL, and the labels
/// file's bytes (empty when there is none). The daemon reports it in its status file; the cluster agent
/// computes it of the files it wrote, so "converged to what the agent wrote" is one comparison.
public enum InputDigest {
    public static func of(config: [UInt8], labels: [UInt8]) -> String {
        SHA256.hexDigest(config + [0] + labels)
    }

    public static func of(config: String, labels: String) -> String {
        of(config: Array(config.utf8), labels: Array(labels.utf8))
    }
}
