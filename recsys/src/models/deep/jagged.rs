//! Jagged sparse features and embedding bags, as torchrec's
//! `KeyedJaggedTensor` and `EmbeddingBagCollection`: per feature key, per
//! row a bag of ids of any length (one id for a categorical field, the
//! tokens of a multi-hot field, none at all), pooled by SUM, MEAN or MAX
//! over the real ids only. An empty bag gives a zero vector.
//!
//! The pooling never builds a `[B, max_len]` padded batch: the bag's rows
//! are gathered from the table (`[nnz, D]`) and summed into their output
//! slot by an index-add (`select_assign` with `Add`), whose backward is
//! the gather of the output gradient — so the table's gradient is exactly
//! that of the padded formulation (tested below) at O(nnz · D) cost. MAX
//! picks each slot's arg-max coordinates on the host and gathers them
//! (torchrec has no MAX; PyTorch's `nn.EmbeddingBag` does).

use burn::module::{Module, Param};
use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::features::{CtrBatch, DatasetSchema, FieldKind, Pooling};
use crate::{Error, Result};

/// A keyed jagged batch: `K` keys × `B` rows, each cell a bag of ids.
/// Values are stored key-major, then row-major (torchrec's layout): key
/// 0's row 0 bag, key 0's row 1 bag, …, key 1's row 0 bag, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedJagged {
    pub keys: Vec<String>,
    /// Rows `B`.
    pub batch: usize,
    /// Every id of every bag (`[nnz]`).
    pub values: Vec<u32>,
    /// Bag lengths, key-major (`[K × B]`).
    pub lengths: Vec<u32>,
}

impl KeyedJagged {
    /// A batch from its parts; the lengths must cover `values` exactly.
    pub fn new(
        keys: Vec<String>,
        batch: usize,
        values: Vec<u32>,
        lengths: Vec<u32>,
    ) -> Result<KeyedJagged> {
        if lengths.len() != keys.len() * batch {
            return Err(Error::InvalidData(format!(
                "keyed jagged batch: {} lengths for {} keys × {batch} rows",
                lengths.len(),
                keys.len()
            )));
        }
        let total: usize = lengths.iter().map(|&l| l as usize).sum();
        if total != values.len() {
            return Err(Error::InvalidData(format!(
                "keyed jagged batch: the lengths add up to {total}, there are {} values",
                values.len()
            )));
        }
        Ok(KeyedJagged {
            keys,
            batch,
            values,
            lengths,
        })
    }

    /// The sparse and sequence fields of an encoded batch as bags, in
    /// schema order: a categorical field is a bag of its one id (id 0, out
    /// of vocabulary, is a real row of the table), a multi-hot field a bag
    /// of its non-padding ids (possibly empty). Dense fields are not keys.
    pub fn from_batch(b: &CtrBatch, schema: &DatasetSchema) -> KeyedJagged {
        let n = b.len;
        let (n_sparse, _, _) = schema.counts();
        let wq = if n == 0 { 0 } else { b.sequences.len() / n };
        let (mut keys, mut values, mut lengths) = (Vec::new(), Vec::new(), Vec::new());
        let (mut s, mut q) = (0, 0);
        for f in &schema.fields {
            match f.kind {
                FieldKind::Sparse => {
                    keys.push(f.name.clone());
                    values.extend((0..n).map(|r| b.sparse[r * n_sparse + s]));
                    lengths.extend(std::iter::repeat_n(1, n));
                    s += 1;
                }
                FieldKind::Sequence { max_len, .. } => {
                    keys.push(f.name.clone());
                    for r in 0..n {
                        let bag = &b.sequences[r * wq + q..r * wq + q + max_len];
                        let before = values.len();
                        values.extend(bag.iter().copied().filter(|&i| i != 0));
                        lengths.push((values.len() - before) as u32);
                    }
                    q += max_len;
                }
                FieldKind::Dense => {}
            }
        }
        KeyedJagged {
            keys,
            batch: n,
            values,
            lengths,
        }
    }

    /// Offsets of every bag into `values` (`[K × B + 1]`).
    pub fn offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.lengths.len() + 1);
        let mut at = 0;
        out.push(0);
        for &l in &self.lengths {
            at += l as usize;
            out.push(at);
        }
        out
    }

    /// Key `k`'s bags padded with 0 to the longest (`[B × L]`, and `L`):
    /// the padded formulation, for reference and tests.
    pub fn padded(&self, k: usize) -> (Vec<u32>, usize) {
        let off = self.offsets();
        let bags = k * self.batch..(k + 1) * self.batch;
        let l = self.lengths[bags.clone()]
            .iter()
            .copied()
            .max()
            .unwrap_or(0) as usize;
        let mut out = vec![0; self.batch * l];
        for (r, slot) in bags.enumerate() {
            let ids = &self.values[off[slot]..off[slot + 1]];
            out[r * l..r * l + ids.len()].copy_from_slice(ids);
        }
        (out, l)
    }
}

/// One table of an [`EmbeddingBagCollection`]: `rows × dim`, read by the
/// feature keys `keys`, pooled by `pooling`.
#[derive(Debug, Clone, PartialEq)]
pub struct BagTable {
    pub rows: usize,
    pub dim: usize,
    pub pooling: Pooling,
    /// The keys (by position in the collection's key order) that read it.
    pub keys: Vec<usize>,
}

impl BagTable {
    /// One table per sparse or sequence field of `schema` (in schema
    /// order, key `k` = the `k`-th such field), with the field's vocabulary
    /// and dim; categorical fields pool by SUM (a bag of one id), sequence
    /// fields by their own pooling.
    pub fn per_field(schema: &DatasetSchema) -> Vec<BagTable> {
        schema
            .fields
            .iter()
            .filter(|f| !matches!(f.kind, FieldKind::Dense))
            .enumerate()
            .map(|(k, f)| BagTable {
                rows: f.vocab.max(1),
                dim: f.dim,
                pooling: match f.kind {
                    FieldKind::Sequence { pooling, .. } => pooling,
                    _ => Pooling::Sum,
                },
                keys: vec![k],
            })
            .collect()
    }
}

/// Embedding bags for every key of a [`KeyedJagged`] batch: a table per
/// [`BagTable`] (tables may be shared by several keys), initialised
/// N(0, `init_std`²).
#[derive(Module, Debug)]
pub struct EmbeddingBagCollection {
    tables: Vec<Param<Tensor<2>>>,
    /// Per key: its table.
    key_table: Vec<usize>,
    /// Per table: 0 = SUM, 1 = MEAN, 2 = MAX.
    pooling: Vec<usize>,
}

/// A [`KeyedJagged`] batch on a device, grouped by table: per table the
/// ids it reads (`[nnz_t]`), the output slot of each id (`key_in_table ×
/// B + row`, `[nnz_t]`), `1 / len` per slot for MEAN (`[S_t, 1]`, 0 for an
/// empty bag) and the slot offsets on the host (for MAX).
#[derive(Debug, Clone)]
pub struct JaggedInput {
    batch: usize,
    tables: Vec<TableBags>,
    /// Per key: `(table, position among the table's keys)`.
    keys: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct TableBags {
    ids: Tensor<1, Int>,
    slots: Tensor<1, Int>,
    inv_len: Tensor<2>,
    offsets: Vec<usize>,
    n_slots: usize,
    /// Every slot holds exactly one id (a categorical field): the pooled
    /// bags are the gathered rows themselves, whatever the pooling.
    single: bool,
}

impl JaggedInput {
    /// Lays out `kjt` for `tables` (whose keys index `kjt.keys`) on
    /// `device`; an id outside its table is an error.
    pub fn new(kjt: &KeyedJagged, tables: &[BagTable], device: &Device) -> Result<JaggedInput> {
        let b = kjt.batch;
        let off = kjt.offsets();
        let mut keys = vec![(usize::MAX, 0); kjt.keys.len()];
        let mut out = Vec::with_capacity(tables.len());
        for (t, table) in tables.iter().enumerate() {
            let (mut ids, mut slots, mut inv_len, mut offsets) =
                (Vec::new(), Vec::new(), Vec::new(), vec![0]);
            for (j, &k) in table.keys.iter().enumerate() {
                if k >= kjt.keys.len() {
                    return Err(Error::Config(format!(
                        "embedding bag table {t} reads key {k}, the batch has {} keys",
                        kjt.keys.len()
                    )));
                }
                keys[k] = (t, j);
                for r in 0..b {
                    let bag = &kjt.values[off[k * b + r]..off[k * b + r + 1]];
                    if let Some(&bad) = bag.iter().find(|&&i| i as usize >= table.rows) {
                        return Err(Error::InvalidData(format!(
                            "feature {:?}: id {bad} is outside its table of {} rows",
                            kjt.keys[k], table.rows
                        )));
                    }
                    ids.extend(bag.iter().map(|&i| i as i64));
                    slots.extend(std::iter::repeat_n((j * b + r) as i64, bag.len()));
                    inv_len.push(if bag.is_empty() {
                        0.0
                    } else {
                        1.0 / bag.len() as f32
                    });
                    offsets.push(ids.len());
                }
            }
            let (nnz, n_slots) = (ids.len(), table.keys.len() * b);
            let single = nnz == n_slots && offsets.windows(2).all(|w| w[1] == w[0] + 1);
            out.push(TableBags {
                ids: Tensor::from_data(TensorData::new(ids, [nnz]), device),
                slots: Tensor::from_data(TensorData::new(slots, [nnz]), device),
                inv_len: Tensor::from_data(TensorData::new(inv_len, [n_slots, 1]), device),
                offsets,
                n_slots,
                single,
            });
        }
        if let Some(k) = keys.iter().position(|&(t, _)| t == usize::MAX) {
            return Err(Error::Config(format!(
                "no embedding bag table reads feature {:?}",
                kjt.keys[k]
            )));
        }
        Ok(JaggedInput {
            batch: b,
            tables: out,
            keys,
        })
    }
}

impl EmbeddingBagCollection {
    pub fn new(tables: &[BagTable], init_std: f64, device: &Device) -> Self {
        let n_keys = tables.iter().map(|t| t.keys.len()).sum();
        let mut key_table = vec![0; n_keys];
        for (t, table) in tables.iter().enumerate() {
            for &k in &table.keys {
                key_table[k] = t;
            }
        }
        EmbeddingBagCollection {
            tables: tables
                .iter()
                .map(|t| {
                    Param::from_tensor(Tensor::random(
                        [t.rows, t.dim],
                        burn::tensor::Distribution::Normal(0.0, init_std),
                        device,
                    ))
                })
                .collect(),
            key_table,
            pooling: tables.iter().map(|t| pooling_code(t.pooling)).collect(),
        }
    }

    /// Pooled bags, one `[B, dim_k]` tensor per key in key order.
    pub fn forward(&self, input: &JaggedInput) -> Vec<Tensor<2>> {
        let b = input.batch;
        let pooled: Vec<Tensor<2>> = self
            .tables
            .iter()
            .zip(&input.tables)
            .zip(&self.pooling)
            .map(|((table, bags), &p)| pool(table.val(), bags, p))
            .collect();
        input
            .keys
            .iter()
            .map(|&(t, j)| pooled[t].clone().narrow(0, j * b, b))
            .collect()
    }

    /// Σ of the squared table weights (for an L2 penalty on embeddings).
    pub fn l2(&self) -> Option<Tensor<1>> {
        self.tables
            .iter()
            .map(|t| {
                let w = t.val();
                (w.clone() * w).sum()
            })
            .reduce(|a, b| a + b)
    }

    /// Keys read by the collection.
    pub fn n_keys(&self) -> usize {
        self.key_table.len()
    }
}

fn pooling_code(p: Pooling) -> usize {
    match p {
        Pooling::Sum => 0,
        Pooling::Mean => 1,
        Pooling::Max => 2,
    }
}

/// The bags of one table pooled: `[S, D]` for `S` slots (keys × rows).
fn pool(table: Tensor<2>, bags: &TableBags, pooling: usize) -> Tensor<2> {
    let d = table.dims()[1];
    let device = table.device();
    let nnz = bags.ids.dims()[0];
    if nnz == 0 {
        return Tensor::<2>::zeros([bags.n_slots, d], &device);
    }
    let rows = table.select(0, bags.ids.clone()); // [nnz, D]
    if bags.single {
        // One id per slot, in slot order: SUM, MEAN and MAX of a bag of
        // one are that row (and its gradient goes to that row alone).
        return rows;
    }
    match pooling {
        0 | 1 => {
            let zeros = Tensor::<2>::zeros([bags.n_slots, d], &device);
            let sum = zeros.select_assign(0, bags.slots.clone(), rows, IndexingUpdateOp::Add);
            if pooling == 1 {
                sum * bags.inv_len.clone()
            } else {
                sum
            }
        }
        _ => {
            // Arg-max of every (slot, coordinate) over the slot's rows,
            // found on the host; the output gathers those entries, so the
            // gradient flows to the winning row alone (as in a max).
            let v: Vec<f32> = rows
                .clone()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .expect("f32 data");
            let mut pick = Vec::with_capacity(bags.n_slots * d);
            let mut keep = Vec::with_capacity(bags.n_slots * d);
            for s in 0..bags.n_slots {
                let (a, e) = (bags.offsets[s], bags.offsets[s + 1]);
                for c in 0..d {
                    let best = (a..e).max_by(|&x, &y| v[x * d + c].total_cmp(&v[y * d + c]));
                    pick.push(best.map_or(0, |r| (r * d + c) as i64));
                    keep.push(if best.is_some() { 1.0f32 } else { 0.0 });
                }
            }
            let n = pick.len();
            let idx = Tensor::<1, Int>::from_data(TensorData::new(pick, [n]), &device);
            let keep = Tensor::<2>::from_data(TensorData::new(keep, [bags.n_slots, d]), &device);
            rows.reshape([nnz * d])
                .select(0, idx)
                .reshape([bags.n_slots, d])
                * keep
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// A random keyed batch: `keys` keys over `rows` rows, bags of 0..=4
    /// ids below `vocab` (some empty).
    fn random_batch(keys: usize, rows: usize, vocab: u32, seed: u64) -> KeyedJagged {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (mut values, mut lengths) = (Vec::new(), Vec::new());
        for _ in 0..keys * rows {
            let l = rng.random_range(0..=4u32);
            lengths.push(l);
            values.extend((0..l).map(|_| rng.random_range(0..vocab)));
        }
        KeyedJagged::new(
            (0..keys).map(|k| format!("f{k}")).collect(),
            rows,
            values,
            lengths,
        )
        .unwrap()
    }

    /// The padded formulation of one key: `[B, L, D]` rows of the table,
    /// masked, pooled as the CTR networks' field embedding pools.
    fn padded_pool(table: Tensor<2>, kjt: &KeyedJagged, k: usize, pooling: Pooling) -> Tensor<2> {
        let device = table.device();
        let d = table.dims()[1];
        let b = kjt.batch;
        let (ids, l) = kjt.padded(k);
        if l == 0 {
            return Tensor::zeros([b, d], &device);
        }
        let lens = &kjt.lengths[k * b..(k + 1) * b];
        let mask: Vec<f32> = (0..b)
            .flat_map(|r| (0..l).map(move |j| if (j as u32) < lens[r] { 1.0 } else { 0.0 }))
            .collect();
        let mask = Tensor::<3>::from_data(TensorData::new(mask, [b, l, 1]), &device);
        let idx: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [b * l]), &device);
        let v = table.select(0, idx).reshape([b, l, d]) * mask.clone();
        match pooling {
            Pooling::Sum => v.sum_dim(1).reshape([b, d]),
            Pooling::Mean => {
                let n = mask.sum_dim(1).clamp_min(1.0).reshape([b, 1]);
                v.sum_dim(1).reshape([b, d]) / n
            }
            Pooling::Max => {
                let lift = (mask.clone() - 1.0) * 1e9;
                let any = mask.max_dim(1).reshape([b, 1]);
                (v + lift).max_dim(1).reshape([b, d]) * any
            }
        }
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Forward values and the table's gradient of `Σ w ⊙ pooled` for the
    /// jagged bags and for the padded reference, on the same random input.
    #[test]
    fn bags_equal_the_padded_reference_forward_and_gradient() {
        let device = Device::flex().autodiff();
        for pooling in [Pooling::Sum, Pooling::Mean, Pooling::Max] {
            // Seeds 0–3: bags of 0–4 ids; 4–5: one id per bag (the
            // categorical fields' case, pooled by a gather alone).
            for seed in 0..6u64 {
                let (keys, rows, vocab, d) = (3, 17, 9, 5);
                let one_id = seed >= 4;
                let kjt = if one_id {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                    let values = (0..keys * rows)
                        .map(|_| rng.random_range(0..vocab))
                        .collect();
                    let names = (0..keys).map(|k| format!("f{k}")).collect();
                    KeyedJagged::new(names, rows, values, vec![1; keys * rows]).unwrap()
                } else {
                    random_batch(keys, rows, vocab, seed)
                };
                assert!(
                    one_id || kjt.lengths.contains(&0),
                    "the input has empty bags"
                );
                // Two keys share table 0, the third has its own.
                let tables = [
                    BagTable {
                        rows: vocab as usize,
                        dim: d,
                        pooling,
                        keys: vec![0, 2],
                    },
                    BagTable {
                        rows: vocab as usize,
                        dim: d,
                        pooling,
                        keys: vec![1],
                    },
                ];
                device.seed(seed);
                let ebc = EmbeddingBagCollection::new(&tables, 0.5, &device);
                let input = JaggedInput::new(&kjt, &tables, &device).unwrap();
                assert!(input.tables.iter().all(|t| t.single == one_id));
                let w = Tensor::<2>::random(
                    [rows, d],
                    burn::tensor::Distribution::Normal(0.0, 1.0),
                    &device,
                );
                assert_eq!(ebc.forward(&input).len(), keys);
                let key_table = [0usize, 1, 0];
                for k in 0..keys {
                    // Burn keeps no graph after a backward pass: each
                    // formulation gets a forward pass of its own.
                    let t = &ebc.tables[key_table[k]];
                    let out = ebc.forward(&input).swap_remove(k);
                    let reference = padded_pool(t.val(), &kjt, k, pooling);
                    let (a, r) = (values(out.clone()), values(reference.clone()));
                    for (x, y) in a.iter().zip(&r) {
                        assert!((x - y).abs() < 1e-6, "{pooling:?} key {k}: {x} vs {y}");
                    }
                    // Gradient of the table through each formulation.
                    let ga = (out * w.clone()).sum().backward();
                    let gr = (reference * w.clone()).sum().backward();
                    let ga = t.val().grad(&ga).map(values).unwrap_or_default();
                    let gr = t.val().grad(&gr).map(values).unwrap_or_default();
                    assert_eq!(ga.len(), gr.len(), "{pooling:?} key {k}");
                    for (x, y) in ga.iter().zip(&gr) {
                        assert!((x - y).abs() < 1e-5, "{pooling:?} key {k} grad: {x} vs {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_bag_is_a_zero_vector_and_a_batch_without_ids_works() {
        let device = Device::flex();
        device.seed(3);
        let tables = [BagTable {
            rows: 4,
            dim: 3,
            pooling: Pooling::Max,
            keys: vec![0],
        }];
        let ebc = EmbeddingBagCollection::new(&tables, 1.0, &device);
        let kjt = KeyedJagged::new(vec!["g".into()], 2, vec![1, 3], vec![0, 2]).unwrap();
        let out =
            values(ebc.forward(&JaggedInput::new(&kjt, &tables, &device).unwrap())[0].clone());
        assert_eq!(&out[..3], &[0.0, 0.0, 0.0]);
        let t = values(ebc.tables[0].val());
        for c in 0..3 {
            assert_eq!(out[3 + c], t[3 + c].max(t[9 + c]));
        }
        let none = KeyedJagged::new(vec!["g".into()], 2, vec![], vec![0, 0]).unwrap();
        let out =
            values(ebc.forward(&JaggedInput::new(&none, &tables, &device).unwrap())[0].clone());
        assert!(out.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn bad_batches_are_refused() {
        assert!(KeyedJagged::new(vec!["a".into()], 2, vec![1], vec![1]).is_err());
        assert!(KeyedJagged::new(vec!["a".into()], 2, vec![1], vec![1, 1]).is_err());
        let kjt = KeyedJagged::new(vec!["a".into()], 1, vec![7], vec![1]).unwrap();
        let tables = [BagTable {
            rows: 4,
            dim: 2,
            pooling: Pooling::Sum,
            keys: vec![0],
        }];
        let e = JaggedInput::new(&kjt, &tables, &Device::flex()).unwrap_err();
        assert!(e.to_string().contains("outside its table"), "{e}");
    }

    #[test]
    fn batches_of_fields_keep_real_ids_only() {
        use crate::features::FieldSchema;
        let mut a = FieldSchema::sparse("a", 4);
        a.vocab = 10;
        let mut g = FieldSchema::sequence("g", 3, Pooling::Mean, 4);
        g.vocab = 5;
        let schema = DatasetSchema {
            fields: vec![a, FieldSchema::dense("x", 4), g],
        };
        let b = CtrBatch {
            len: 2,
            sparse: vec![0, 3],
            sequences: vec![0, 0, 0, 2, 4, 0],
            dense: vec![0.5, 0.25],
            ..Default::default()
        };
        let kjt = KeyedJagged::from_batch(&b, &schema);
        assert_eq!(kjt.keys, ["a", "g"]);
        assert_eq!(kjt.lengths, [1, 1, 0, 2]);
        assert_eq!(kjt.values, [0, 3, 2, 4]);
        assert_eq!(kjt.offsets(), [0, 1, 2, 2, 4]);
        assert_eq!(kjt.padded(1), (vec![0, 0, 2, 4], 2));
    }
}
