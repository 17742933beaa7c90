#if canImport(Glibc)
    import CGlibc
    import Glibc
#endif

/// The pages of the kiln executable's code and read-only data: taken out of the process's page tables once
/// the start is over.
///
/// A start runs code that never runs again (migrations, the bootstrap, the Lakebase template's initdb and
/// its supervision, TLS's first certificate), and the kernel maps a file's pages 64 KiB at a time around each
/// one touched: most of an idle Kiln's resident memory was pages of its binary. `release()` gives
/// `madvise(MADV_DONTNEED)` to the executable's segments that are never writable (its ELF program headers'
/// `PT_LOAD` segments without `PF_W`): their pages hold the file's own bytes and nothing else, so dropping
/// them loses nothing. Relocated data (RELRO, written at load and made read-only after) lies in a writable
/// segment and is left alone. The page cache keeps the pages, cheap to reclaim now that no process maps them;
/// a page used again is mapped again by a minor fault. The executable must be replaced by rename, never
/// written in place while it runs (as with any running binary: lld and `install` write a new file).
enum ExecutablePages {
    /// What `release()` advised: how many segments, and their bytes (resident or not).
    struct Released: Equatable, Sendable {
        var segments = 0
        var bytes = 0
    }

    /// One program header's fields that matter here (ELF's `Elf64_Phdr`).
    struct Segment: Equatable, Sendable {
        var type: UInt32
        var flags: UInt32
        var virtualAddress: UInt
        var memorySize: UInt

        /// ELF's `PT_LOAD`, `PT_PHDR` and `PT_GNU_RELRO` (`p_type`), and `PF_W` (`p_flags`), from elf.h.
        static let load: UInt32 = 1
        static let programHeaders: UInt32 = 6
        static let relocatedReadOnly: UInt32 = 0x6474_e552
        static let writable: UInt32 = 0x2
    }

    /// Releases the pages of the executable's never-writable segments from this process's page tables.
    /// Does nothing where there is no `madvise` or no program headers to read (macOS).
    @discardableResult
    static func release() -> Released {
        #if canImport(Glibc)
            let table = UInt(getauxval(UInt(AT_PHDR)))
            let count = Int(getauxval(UInt(AT_PHNUM)))
            guard count > 0, let headers = UnsafePointer<Elf64_Phdr>(bitPattern: table) else { return Released() }
            let segments = UnsafeBufferPointer(start: headers, count: count).map {
                Segment(type: $0.p_type, flags: $0.p_flags, virtualAddress: UInt($0.p_vaddr), memorySize: UInt($0.p_memsz))
            }
            var released = Released()
            for range in releasableRanges(segments, headersAddress: table, pageSize: UInt(sysconf(Int32(_SC_PAGESIZE)))) {
                guard madvise(UnsafeMutableRawPointer(bitPattern: range.lowerBound), Int(range.count), MADV_DONTNEED) == 0 else { continue }
                released.segments += 1
                released.bytes += Int(range.count)
            }
            return released
        #else
            return Released()
        #endif
    }

    /// The address ranges of the never-writable loadable segments, given the program headers and where they
    /// are in memory (`AT_PHDR`, which places the `PT_PHDR` header and so gives the load address). Each range
    /// is the whole pages inside its segment; a segment that overlaps `PT_GNU_RELRO` is left out, and so is
    /// everything when there is no `PT_PHDR`.
    static func releasableRanges(_ segments: [Segment], headersAddress: UInt, pageSize: UInt) -> [Range<UInt>] {
        guard let headers = segments.first(where: { $0.type == Segment.programHeaders }) else { return [] }
        let loadAddress = headersAddress &- headers.virtualAddress
        func addresses(_ segment: Segment) -> Range<UInt> {
            let start = loadAddress &+ segment.virtualAddress
            return start..<start + segment.memorySize
        }
        let relocated = segments.filter { $0.type == Segment.relocatedReadOnly }.map(addresses)
        return segments.compactMap { segment in
            guard segment.type == Segment.load, segment.flags & Segment.writable == 0 else { return nil }
            let whole = addresses(segment)
            guard !relocated.contains(where: { $0.overlaps(whole) }) else { return nil }
            let start = (whole.lowerBound + pageSize - 1) / pageSize * pageSize
            let end = whole.upperBound / pageSize * pageSize
            return start < end ? start..<end : nil
        }
    }
}
