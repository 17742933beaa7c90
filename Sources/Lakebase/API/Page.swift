import Foundation
import KilnCore

/// `page_size` and `page_token`: the token is the offset of the next page, opaque to clients.
struct Page {
    var size: Int
    var offset: Int

    init(size: Int?, token: String?, maximum: Int) throws(KilnError) {
        if let size, size < 0 { throw KilnError.invalidParameter("page_size cannot be negative.") }
        self.size = min(size.flatMap { $0 == 0 ? nil : $0 } ?? 50, maximum)
        if let token, !token.isEmpty {
            guard let data = Base64URL.decode(token), let text = String(data: data, encoding: .utf8),
                text.hasPrefix("offset:"), let offset = Int(text.dropFirst(7)), offset >= 0
            else {
                throw KilnError.invalidParameter("Invalid page_token.")
            }
            self.offset = offset
        } else {
            offset = 0
        }
    }

    func slice<T>(_ items: [T]) -> ArraySlice<T> {
        items.dropFirst(offset).prefix(size)
    }

    func nextToken(total: Int) -> String? {
        offset + size < total ? Base64URL.encode(Data("offset:\(offset + size)".utf8)) : nil
    }
}
