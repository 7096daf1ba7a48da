import RecKernels

extension Autoencoder {
    /// The straightforward formulation, as a PyTorch rewrite computes it: the batch's rows as
    /// a dense (rows, n) matrix with zeros where unrated, every output computed by GEMM, the
    /// error masked to observed entries. Same loss and gradient as `lossAndGradient`, at the
    /// cost of touching all n items for every row. Kept as the benchmark's baseline and as a
    /// twin of the sparse path in tests.
    func denseLossAndGradient(
        _ p: UnsafePointer<Float>, grad: UnsafeMutablePointer<Float>, input: BatchEntries, target: BatchEntries,
        workspace ws: Workspace
    ) -> (sum: Double, count: Int) {
        let sizes = layout.sizes, n = layout.items, rows = input.rows
        let H = layout.layerCount - 1, hL = layout.lastHidden, h1 = sizes[1]
        let x = FloatBuffer(rows * n), out = FloatBuffer(rows * n), mask = FloatBuffer(rows * n), t = FloatBuffer(rows * n)
        for r in 0..<rows {
            for k in input.range(r) { x.pointer[r * n + Int(input.columns[k])] = input.values[k] }
            for k in target.range(r) {
                mask.pointer[r * n + Int(target.columns[k])] = 1
                t.pointer[r * n + Int(target.columns[k])] = target.values[k]
            }
        }
        let acts = ws.a, grads = ws.g
        // Forward: (rows, n)·(n, h1), middle layers, then (rows, hL)·(hL, n).
        for r in 0..<rows { (acts[0] + r * h1).update(from: p + layout.biasOffset[0], count: h1) }
        BLAS.gemm(m: rows, n: h1, k: n, a: x.pointer, lda: n, b: p + layout.weightOffset[0], ldb: h1, beta: 1, c: acts[0], ldc: h1)
        activation.apply(acts[0], rows * h1)
        for l in 1..<H {
            let (nIn, nOut) = (sizes[l], sizes[l + 1])
            for r in 0..<rows { (acts[l] + r * nOut).update(from: p + layout.biasOffset[l], count: nOut) }
            BLAS.gemm(m: rows, n: nOut, k: nIn, a: acts[l - 1], lda: nIn, b: p + layout.weightOffset[l], ldb: nOut, beta: 1, c: acts[l], ldc: nOut)
            activation.apply(acts[l], rows * nOut)
        }
        for r in 0..<rows { (out.pointer + r * n).update(from: p + layout.biasOffset[H], count: n) }
        BLAS.gemm(transB: true, m: rows, n: n, k: hL, a: acts[H - 1], lda: hL, b: p + layout.weightOffset[H], ldb: hL,
                  beta: 1, c: out.pointer, ldc: n)
        // Masked error: e = mask·(ŷ − t), loss = Σe² / Σmask, dL/dŷ = 2e / Σmask.
        let count = target.start[rows]
        guard count > 0 else { return (0, 0) }
        var sum = 0.0
        let scale = 2 / Float(count)
        for j in 0..<(rows * n) {
            let e = mask.pointer[j] * (out.pointer[j] - t.pointer[j])
            sum += Double(e * e)
            out.pointer[j] = scale * e
        }
        // Backward through the output layer: dW_L = Eᵀ·A (n, hL), db_L = Σ_r E, dA = E·W_L.
        BLAS.gemm(transA: true, m: n, n: hL, k: rows, a: out.pointer, lda: n, b: acts[H - 1], ldb: hL, beta: 1,
                  c: grad + layout.weightOffset[H], ldc: hL)
        columnSums(out.pointer, rows: rows, cols: n, into: grad + layout.biasOffset[H])
        BLAS.gemm(m: rows, n: hL, k: n, a: out.pointer, lda: n, b: p + layout.weightOffset[H], ldb: hL, c: grads[H - 1], ldc: hL)
        activation.backward(grads[H - 1], activated: acts[H - 1], rows * hL)
        for l in stride(from: H - 1, through: 1, by: -1) {
            let (nIn, nOut) = (sizes[l], sizes[l + 1])
            BLAS.gemm(transA: true, m: nIn, n: nOut, k: rows, a: acts[l - 1], lda: nIn, b: grads[l], ldb: nOut, beta: 1,
                      c: grad + layout.weightOffset[l], ldc: nOut)
            columnSums(grads[l], rows: rows, cols: nOut, into: grad + layout.biasOffset[l])
            BLAS.gemm(transB: true, m: rows, n: nIn, k: nOut, a: grads[l], lda: nOut, b: p + layout.weightOffset[l], ldb: nOut,
                      c: grads[l - 1], ldc: nIn)
            activation.backward(grads[l - 1], activated: acts[l - 1], rows * nIn)
        }
        // dW0 = Xᵀ·dZ1 (n, h1), db0 = Σ_r dZ1.
        BLAS.gemm(transA: true, m: n, n: h1, k: rows, a: x.pointer, lda: n, b: grads[0], ldb: h1, beta: 1,
                  c: grad + layout.weightOffset[0], ldc: h1)
        columnSums(grads[0], rows: rows, cols: h1, into: grad + layout.biasOffset[0])
        return (sum, count)
    }
}
