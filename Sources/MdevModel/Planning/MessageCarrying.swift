/// A value of a plan whose JSON carries, beside its own fields, the `message` people read: what `plan
/// --format json` and the status file show for it.
public protocol MessageCarrying: Encodable {
    var message: String { get }
}

/// Encodes a ``MessageCarrying`` value as its own (synthesized) fields plus `message`, in one object.
struct WithMessage<Value: MessageCarrying>: Encodable {
    let value: Value

    enum CodingKeys: String, CodingKey { case message }

    func encode(to encoder: any Encoder) throws {
        try value.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value.message, forKey: .message)
    }
}
