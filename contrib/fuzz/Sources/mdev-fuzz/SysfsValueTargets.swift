import MdevModel

/// `nvidia/creatable_vgpu_types`, both layouts. What parses renders in the driver's table layout and
/// parses to the same listings; an error names a line of the input and is one clean line.
let vgpuTypesTarget = FuzzTarget(name: "vgpu-types") { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let listings = try CreatableVGPUTypes.parse(text)
        for listing in listings {
            invariant(listing.number > 0, "listing number \(listing.number) is not positive")
            invariant(!listing.name.isEmpty && !listing.name.contains("\n"), "listing name \(listing.name.debugDescription)")
        }
        let table = "ID    : vGPU Name\n" + listings.map { "\($0.number) : \($0.name)\n" }.joined()
        do {
            invariant(try CreatableVGPUTypes.parse(table) == listings, "the table layout parses to other listings:\n\(table)")
        } catch {
            invariant(false, "the table layout does not parse (\(error)):\n\(table)")
        }
    } catch let error as CreatableVGPUTypes.ParseError {
        let lines = text.textLines().count
        invariant((1...lines).contains(error.line), "error line \(error.line) of \(lines)")
        invariant(isOneCleanLine(error.description), "error is not one clean line: \(error.description.debugDescription)")
    } catch {
        invariant(false, "an error that is no ParseError: \(error)")
    }
}

/// A type's `description` (NVIDIA's comma-separated pairs, GVT-g's lines). Keys are never empty, no key or
/// value holds a separator, and `max_instance` is a count or absent.
let typeDescriptionTarget = FuzzTarget(name: "type-description") { bytes in
    let description = TypeDescription(parsing: String(decoding: bytes, as: UTF8.self))
    for field in description.fields {
        invariant(!field.key.isEmpty, "empty key")
        invariant(!field.key.contains(",") && !field.value.contains(","), "a field holds a comma")
        invariant(!field.key.contains(where: \.isNewline) && !field.value.contains(where: \.isNewline), "a field holds a newline")
    }
    if let maximum = description.maxInstances {
        invariant((0...SysfsNumber.maximum).contains(maximum), "max_instance \(maximum) out of range")
    }
}

/// The numbers sysfs files hold (`available_instances`, `sriov_totalvfs`, `sriov_numvfs`,
/// `nvidia/current_vgpu_type`). A value read is in range and is what the digits say.
let sysfsNumberTarget = FuzzTarget(name: "sysfs-number") { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    guard let value = SysfsNumber.count(text) else { return }
    invariant((0...SysfsNumber.maximum).contains(value), "\(value) out of range")
    let digits = text.trimmingSpaces()
    let significant = digits.drop { $0 == "0" }
    invariant(String(value) == (significant.isEmpty ? "0" : String(significant)), "\(text.debugDescription) read as \(value)")
}
