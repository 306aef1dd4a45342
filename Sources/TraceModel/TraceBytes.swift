/// The packed spans of the store's traces (see `SpanArena`). A trace of up
/// to `pagedLimit` bytes lies in a shared page, its bytes in one piece, next
/// to other traces'; a larger trace has an array of its own.
///
/// Why not an array per trace: each costs a 32-byte header, the allocator's
/// chunk header and its rounding, ~48 bytes; with a million spans in
/// three-span traces of ~180 bytes that was 16 bytes a span.
///
/// A trace's bytes grow in place while they end their page's filled part
/// (a trace's spans arriving together); otherwise they move to the end of
/// the current page and leave a hole. Holes are counted in `held`, a page
/// whose traces are all gone is released, and the owner moves every trace
/// (`move`, in address order) when the holes reach a share of the pages.
struct TraceBytes: Sendable {
    /// Where a trace's bytes are, in 8 bytes: a page, an offset in it and a
    /// length, or the index of a large trace's array. Zero is no bytes.
    struct Ref: Sendable, Hashable {
        /// Paged: page << 32 | offset << 14 | length, so that refs order by address.
        /// Large: 1 << 63 | index.
        private(set) var raw: UInt64 = 0

        init() {}

        fileprivate init(page: Int, offset: Int, length: Int) {
            raw = UInt64(page) << 32 | UInt64(offset) << 14 | UInt64(length)
        }

        fileprivate init(large index: Int) {
            raw = 1 << 63 | UInt64(index)
        }

        var isLarge: Bool { raw >> 63 != 0 }
        /// Bytes in a shared page (not none, not large).
        var isPaged: Bool { !isLarge && length > 0 }
        fileprivate var page: Int { Int(truncatingIfNeeded: raw >> 32) }
        fileprivate var offset: Int { Int(truncatingIfNeeded: raw >> 14) & (TraceBytes.pageSize - 1) }
        fileprivate var length: Int { Int(truncatingIfNeeded: raw) & 0x3FFF }
        fileprivate var largeIndex: Int { Int(truncatingIfNeeded: raw & 0xFFFF_FFFF) }
    }

    /// 256 KiB: a few hundred traces a page, and a page's untouched tail is not resident.
    static let pageSize = 1 << 18
    /// Traces up to this many bytes share pages (it must fit `Ref`'s 14-bit
    /// length); past it the array's header is under 1% of its bytes.
    static let pagedLimit = 4096

    /// Filled up to their count; a released page is empty, with no storage.
    private var pages: [[UInt8]] = []
    /// Bytes of live traces in each page.
    private var live: [Int] = []
    private var releasedPages: [Int] = []
    /// The page new bytes go to, -1 before the first.
    private var current = -1
    private var large: [[UInt8]] = []
    private var freeLarge: [Int] = []
    private var scratch: [UInt8] = []

    /// Every trace's bytes.
    private(set) var payload = 0
    /// The pages' filled parts: traces' bytes and holes.
    private(set) var pagedBytes = 0
    private var pagedPayload = 0
    /// The large traces' arrays: capacities and 32-byte headers.
    private(set) var largeBytes = 0

    init() {}

    /// What the bytes take: the pages' filled parts (holes included) and the large arrays.
    var held: Int { pagedBytes + largeBytes }
    /// Bytes in the pages that no trace uses any more.
    var holes: Int { pagedBytes - pagedPayload }
    /// Pages holding storage.
    var pageCount: Int { pages.count - releasedPages.count }
    var largeCount: Int { large.count - freeLarge.count }

    /// A trace's bytes.
    subscript(ref: Ref) -> ArraySlice<UInt8> {
        if ref.isLarge { return large[ref.largeIndex][...] }
        guard ref.length > 0 else { return [] }
        let offset = ref.offset
        return pages[ref.page][offset..<offset + ref.length]
    }

    func count(of ref: Ref) -> Int {
        ref.isLarge ? large[ref.largeIndex].count : ref.length
    }

    /// One byte of a trace's bytes: a plain subscript, for loops that must not retain the page.
    func byte(_ i: Int, of ref: Ref) -> UInt8 {
        ref.isLarge ? large[ref.largeIndex][i] : pages[ref.page][ref.offset + i]
    }

    /// Appends `new` to the bytes at `ref`, which may move them.
    mutating func append(_ new: ArraySlice<UInt8>, to ref: inout Ref) {
        guard !new.isEmpty else { return }
        payload += new.count
        if ref.isLarge {
            let i = ref.largeIndex
            largeBytes -= large[i].capacity
            large[i].append(contentsOf: new)
            largeBytes += large[i].capacity
            return
        }
        let old = ref.length
        let needed = old + new.count
        if needed > Self.pagedLimit {
            // Grows on as arrays do (doubling): appends stay amortised O(1).
            var grown: [UInt8] = []
            grown.reserveCapacity(needed)
            grown.append(contentsOf: self[ref])
            grown.append(contentsOf: new)
            free(ref)
            payload += old
            let index = freeLarge.popLast() ?? large.count
            if index == large.count { large.append([]) }
            largeBytes += grown.capacity + 32
            large[index] = grown
            ref = Ref(large: index)
            return
        }
        if old > 0, ref.page == current, ref.offset + old == pages[current].count,
           pages[current].count + new.count <= Self.pageSize {
            pages[current].append(contentsOf: new)
            live[current] += new.count
            pagedBytes += new.count
            pagedPayload += new.count
            ref = Ref(page: current, offset: ref.offset, length: needed)
            return
        }
        let moved = place(ref, extraBytes: new.count)
        pages[current].append(contentsOf: new)
        ref = moved
    }

    /// Moves paged bytes to the end of the current page, closing the hole
    /// they leave once every trace of their page has moved (see `TraceTable.compactBytes`).
    mutating func move(_ ref: inout Ref) {
        guard ref.isPaged else { return }
        ref = place(ref, extraBytes: 0)
    }

    /// Starts new bytes in a fresh page: what `TraceTable.compactBytes` calls before moving
    /// every trace, so none moves into a page it is emptying.
    mutating func startFreshPage() {
        if current >= 0, live[current] == 0 { release(current) }
        current = -1
    }

    /// Forgets a trace's bytes.
    mutating func free(_ ref: Ref) {
        if ref.isLarge {
            let i = ref.largeIndex
            payload -= large[i].count
            largeBytes -= large[i].capacity + 32
            large[i] = []
            freeLarge.append(i)
            return
        }
        let length = ref.length
        guard length > 0 else { return }
        let page = ref.page
        live[page] -= length
        pagedPayload -= length
        payload -= length
        if live[page] == 0 {
            if page == current {
                pagedBytes -= pages[page].count
                pages[page].removeAll(keepingCapacity: true)
            } else {
                release(page)
            }
        }
    }

    /// Copies the bytes at `ref` to the end of the current page (a new page
    /// when they and `extraBytes` do not fit), frees the old place, and
    /// returns the new place, sized for the extra bytes the caller appends.
    private mutating func place(_ ref: Ref, extraBytes: Int) -> Ref {
        let old = ref.length
        let needed = old + extraBytes
        if current < 0 || pages[current].count + needed > Self.pageSize { startPage() }
        let offset = pages[current].count
        if old > 0 {
            // Through a copy: appending a slice of the page to the page would copy the page.
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: self[ref])
            pages[current].append(contentsOf: scratch)
        }
        live[current] += needed
        pagedBytes += needed
        pagedPayload += needed
        // Counted as placed above; the caller appends the extra bytes.
        payload += old
        free(ref)
        return Ref(page: current, offset: offset, length: needed)
    }

    private mutating func startPage() {
        if current >= 0, live[current] == 0 { release(current) }
        var page: [UInt8] = []
        page.reserveCapacity(Self.pageSize)
        if let reused = releasedPages.popLast() {
            pages[reused] = page
            current = reused
        } else {
            pages.append(page)
            live.append(0)
            current = pages.count - 1
        }
    }

    private mutating func release(_ page: Int) {
        pagedBytes -= pages[page].count
        pages[page] = []
        live[page] = 0
        releasedPages.append(page)
        if page == current { current = -1 }
    }
}
