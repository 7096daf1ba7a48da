import Testing
@testable import RecCore

@Suite struct CountingSortTests {
    @Test func starts_countEachKeyAndLeaveEmptyGroupsEmpty() {
        #expect(CountingSort.starts(of: [2, 0, 2, 3, 0, 2], buckets: 5) == [0, 2, 2, 5, 6, 6])
        #expect(CountingSort.starts(of: [], buckets: 3) == [0, 0, 0, 0])
        #expect(CountingSort.starts(of: [], buckets: 0) == [0])
    }
}
