import ArgumentParser
import CardCore

struct TLVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tlv",
        abstract: "Decode hex as ISO 7816 BER-TLV and print the tree.",
        discussion: "Example: cccd tlv 6F0F8407A00000024710015F0A03010203"
    )

    @Argument(help: "The data, in hex (spaces and colons are ignored).")
    var data: HexBytes

    @Option(help: "Deepest nesting accepted.")
    var depthLimit = TLVNode.defaultDepthLimit

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        logging.bootstrap()
        let nodes: [TLVNode]
        do {
            nodes = try TLVNode.parseRun(data.bytes, depthLimit: depthLimit)
        } catch {
            throw ValidationError("\(error)")
        }
        for node in nodes { print(node, indent: 0) }
    }

    private func print(_ node: TLVNode, indent: Int) {
        let pad = String(repeating: "  ", count: indent)
        switch node {
        case .padding(let bytes):
            Swift.print("\(pad)(padding \(bytes.count) bytes)")
        case .primitive(let tag, let value, _):
            Swift.print("\(pad)\(tag) [\(value.count)] \(value.hexString)")
        case .constructed(let tag, let children, _):
            Swift.print("\(pad)\(tag) [constructed, \(children.count) objects]")
            for child in children { print(child, indent: indent + 1) }
        }
    }
}
