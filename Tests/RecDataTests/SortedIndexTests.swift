import Testing

struct SortedIndexTests {
    /// Against a linear search, on every value around a sorted array (present, absent, below,
    /// above), for empty and one-element arrays, and on a slice (indices not starting at 0).
    @Test(arguments: [[], [5], [1, 3, 3, 7, 9, 12], Array(stride(from: 0, through: 200, by: 4))] as [[Int32]])
    func sortedIndex_equalsLinearSearch(values: [Int32]) {
        for x in Int32(-2)...Int32(210) {
            let found = values.sortedIndex(of: x)
            #expect(found.map { values[$0] == x } ?? !values.contains(x), "x=\(x)")
            let slice = ([Int32(-100)] + values)[1...]
            #expect(slice.sortedIndex(of: x).map { slice[$0] == x } ?? !slice.contains(x), "slice, x=\(x)")
        }
        #expect(values.sortedIndex(of: 3) == values.firstIndex(of: 3), "the first of equal values")
    }
}
