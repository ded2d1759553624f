/// ISO/IEC 9797-1 padding method 2: append `80`, then `00` up to a multiple of the block size.
public enum ISO9797Padding {
    public static func pad(_ data: some Collection<UInt8>, blockSize: Int) -> [UInt8] {
        var out = Array(data)
        out.reserveCapacity(data.count + blockSize)
        out.append(0x80)
        while out.count % blockSize != 0 { out.append(0x00) }
        return out
    }

    /// Removes the padding; throws when the last non-zero byte is not `80` or the input is empty.
    public static func unpad(_ data: some BidirectionalCollection<UInt8>) throws(CryptoError) -> [UInt8] {
        var end = data.endIndex
        while end > data.startIndex {
            let before = data.index(before: end)
            let byte = data[before]
            if byte == 0x00 {
                end = before
                continue
            }
            guard byte == 0x80 else { throw .invalidPadding() }
            return Array(data[data.startIndex..<before])
        }
        throw .invalidPadding()
    }
}
