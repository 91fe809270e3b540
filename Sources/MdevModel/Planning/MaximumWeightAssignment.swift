/// The assignment problem: give each row its own column so that the total weight is as large as possible.
///
/// Kuhn–Munkres (Hungarian) algorithm with potentials, O(n³) for n rows. Deterministic: the same matrix
/// always yields the same assignment.
enum MaximumWeightAssignment {
    /// For a square matrix `weights[row][column]`, the column given to each row.
    static func solve(_ weights: [[Int]]) -> [Int] {
        let n = weights.count
        guard n > 0 else { return [] }
        precondition(weights.allSatisfy { $0.count == n }, "the weight matrix must be square")
        let top = weights.joined().max()!
        // Minimise cost = top - weight, with 1-based arrays as in the textbook formulation.
        let cost = { (row: Int, column: Int) in top - weights[row - 1][column - 1] }
        var u = [Int](repeating: 0, count: n + 1)
        var v = [Int](repeating: 0, count: n + 1)
        var rowOfColumn = [Int](repeating: 0, count: n + 1)
        var way = [Int](repeating: 0, count: n + 1)
        for row in 1...n {
            rowOfColumn[0] = row
            var column0 = 0
            var minimum = [Int](repeating: Int.max, count: n + 1)
            var used = [Bool](repeating: false, count: n + 1)
            repeat {
                used[column0] = true
                let row0 = rowOfColumn[column0]
                var delta = Int.max
                var column1 = 0
                for column in 1...n where !used[column] {
                    let reduced = cost(row0, column) - u[row0] - v[column]
                    if reduced < minimum[column] {
                        minimum[column] = reduced
                        way[column] = column0
                    }
                    if minimum[column] < delta {
                        delta = minimum[column]
                        column1 = column
                    }
                }
                for column in 0...n {
                    if used[column] {
                        u[rowOfColumn[column]] += delta
                        v[column] -= delta
                    } else {
                        minimum[column] -= delta
                    }
                }
                column0 = column1
            } while rowOfColumn[column0] != 0
            repeat {
                let previous = way[column0]
                rowOfColumn[column0] = rowOfColumn[previous]
                column0 = previous
            } while column0 != 0
        }
        var columnOfRow = [Int](repeating: 0, count: n)
        for column in 1...n { columnOfRow[rowOfColumn[column] - 1] = column - 1 }
        return columnOfRow
    }
}
