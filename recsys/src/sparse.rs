//! The crate's one sparse matrix format: compressed sparse rows with `u32`
//! column indices and `f32` values. [`crate::Interactions`] caches its
//! users × items view and the transpose in this format, and every model
//! reads them from there (no per-model conversion).

/// A compressed sparse row matrix (`u32` column indices, `f32` values).
///
/// Row `r` holds `indices[indptr[r]..indptr[r + 1]]` (sorted, distinct) with
/// the values at the same positions. Shape `n_rows() × n_cols`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub data: Vec<f32>,
    pub n_cols: usize,
}

impl Csr {
    /// Builds from `(row, col, value)` triplets; a repeated `(row, col)`
    /// keeps its largest value. Shape `n_rows × n_cols`; every index must be
    /// inside it.
    pub fn from_triplets(n_rows: usize, n_cols: usize, mut t: Vec<(u32, u32, f32)>) -> Csr {
        t.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
        t.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
        let mut indptr = vec![0usize; n_rows + 1];
        for &(r, _, _) in &t {
            indptr[r as usize + 1] += 1;
        }
        for r in 0..n_rows {
            indptr[r + 1] += indptr[r];
        }
        let (indices, data) = t.into_iter().map(|(_, c, v)| (c, v)).unzip();
        Csr {
            indptr,
            indices,
            data,
            n_cols,
        }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Column indices and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[r], self.indptr[r + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Column indices of row `r` (sorted).
    pub fn row_indices(&self, r: usize) -> &[u32] {
        &self.indices[self.indptr[r]..self.indptr[r + 1]]
    }

    /// Stored entries of row `r`.
    pub fn row_len(&self, r: usize) -> usize {
        self.indptr[r + 1] - self.indptr[r]
    }

    /// The stored value at `(r, c)`.
    pub fn get(&self, r: usize, c: u32) -> Option<f32> {
        let (cols, vals) = self.row(r);
        cols.binary_search(&c).ok().map(|p| vals[p])
    }

    /// The same matrix with every stored value set to `v`.
    pub fn with_values(&self, v: f32) -> Csr {
        Csr {
            data: vec![v; self.data.len()],
            ..self.clone()
        }
    }

    /// The transpose (columns become rows), indices sorted.
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &c in &self.indices {
            counts[c as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            counts[i + 1] += counts[i];
        }
        let indptr = counts.clone();
        let mut next = counts;
        let mut indices = vec![0u32; self.indices.len()];
        let mut data = vec![0f32; self.data.len()];
        for r in 0..self.n_rows() {
            let (cols, vals) = self.row(r);
            for (&c, &v) in cols.iter().zip(vals) {
                let p = next[c as usize];
                indices[p] = r as u32;
                data[p] = v;
                next[c as usize] += 1;
            }
        }
        Csr {
            indptr,
            indices,
            data,
            n_cols: self.n_rows(),
        }
    }

    /// Subtracts each row's mean from its stored values.
    pub fn center_rows(&mut self) {
        for r in 0..self.n_rows() {
            let (a, b) = (self.indptr[r], self.indptr[r + 1]);
            if b > a {
                let mean = self.data[a..b].iter().sum::<f32>() / (b - a) as f32;
                self.data[a..b].iter_mut().for_each(|x| *x -= mean);
            }
        }
    }

    /// Subtracts each column's mean from its stored values.
    pub fn center_cols(&mut self) {
        let mut sum = vec![0f64; self.n_cols];
        let mut n = vec![0u32; self.n_cols];
        for (&c, &v) in self.indices.iter().zip(&self.data) {
            sum[c as usize] += f64::from(v);
            n[c as usize] += 1;
        }
        for (c, v) in self.indices.iter().zip(self.data.iter_mut()) {
            *v -= (sum[*c as usize] / f64::from(n[*c as usize].max(1))) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Csr;

    #[test]
    fn triplets_dedup_keeping_max_and_transpose_round_trips() {
        let m = Csr::from_triplets(
            3,
            4,
            vec![
                (2, 1, 1.0),
                (0, 3, 2.0),
                (0, 0, 1.0),
                (0, 3, 5.0),
                (1, 2, 3.0),
            ],
        );
        assert_eq!(m.nnz(), 4);
        assert_eq!(m.get(0, 3), Some(5.0));
        assert_eq!(m.row_indices(0), &[0, 3]);
        assert_eq!(m.row_len(2), 1);
        let t = m.transpose();
        assert_eq!((t.n_rows(), t.n_cols), (4, 3));
        assert_eq!(t.get(1, 2), Some(1.0));
        assert_eq!(t.transpose(), m);
    }

    #[test]
    fn centring() {
        let mut m = Csr::from_triplets(1, 3, vec![(0, 0, 1.0), (0, 2, 3.0)]);
        m.center_rows();
        assert_eq!(m.data, vec![-1.0, 1.0]);
    }
}
