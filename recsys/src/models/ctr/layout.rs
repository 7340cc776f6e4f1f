//! Encoded feature rows as the shallow CTR models see them: every row a
//! short list of `(feature, field, value)` triples over one global feature
//! index space (each field's ids after the previous fields'), and Poly2's
//! crosses hashed into their own buckets.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::features::{CtrBatch, DatasetSchema, FieldKind, Pooling};

/// The fixed seed of every hash the CTR chain computes: the same cross
/// maps to the same bucket on every machine and every version.
pub const HASH_SEED: u64 = 0x7265_6373_7973_0001;

/// One active feature of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Feat {
    /// Global feature index (`0..n_features`).
    pub index: u32,
    /// Field index in schema order (`0..n_fields`).
    pub field: u16,
    /// The feature's value: 1 for a categorical id, the scaled number of a
    /// dense field, `1/m` for each of a mean-pooled sequence's `m` ids.
    pub value: f32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    /// Column `col` of the batch's sparse ids.
    Sparse { col: usize },
    /// Column `col` of the batch's dense values.
    Dense { col: usize },
    /// `len` ids from column `col` of the batch's sequences (0 = padding).
    Sequence {
        col: usize,
        len: usize,
        pooling: Pooling,
    },
}

/// Where each field's feature ids start, and how to read a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    slots: Vec<(Slot, u32)>,
    /// Total features (sum of the fields' vocabularies; 1 per dense field).
    pub n_features: usize,
    widths: (usize, usize, usize),
}

impl Layout {
    /// The layout of rows encoded with `schema`.
    pub fn new(schema: &DatasetSchema) -> Layout {
        let (mut s, mut d, mut q) = (0, 0, 0);
        let mut offset = 0u32;
        let mut slots = Vec::with_capacity(schema.fields.len());
        for f in &schema.fields {
            let slot = match f.kind {
                FieldKind::Sparse => {
                    s += 1;
                    Slot::Sparse { col: s - 1 }
                }
                FieldKind::Dense => {
                    d += 1;
                    Slot::Dense { col: d - 1 }
                }
                FieldKind::Sequence { max_len, pooling } => {
                    q += max_len;
                    Slot::Sequence {
                        col: q - max_len,
                        len: max_len,
                        pooling,
                    }
                }
            };
            slots.push((slot, offset));
            offset += match slot {
                Slot::Dense { .. } => 1,
                _ => f.vocab.max(1) as u32,
            };
        }
        Layout {
            slots,
            n_features: offset as usize,
            widths: (s, q, d),
        }
    }

    /// True when a row may hold the same feature twice (a sequence field
    /// with a repeated id).
    pub fn has_sequences(&self) -> bool {
        self.slots
            .iter()
            .any(|(s, _)| matches!(s, Slot::Sequence { .. }))
    }

    /// Fields.
    pub fn n_fields(&self) -> usize {
        self.slots.len()
    }

    /// The active features of row `r` of `b`, grouped by field in schema
    /// order, into `out` (cleared first). A sparse field's id 0 (out of
    /// vocabulary) is a feature of its own, as one-hot encoders give it a
    /// column; a sequence's padding 0 is not.
    pub fn row(&self, b: &CtrBatch, r: usize, out: &mut Vec<Feat>) {
        out.clear();
        let (ws, wq, wd) = self.widths;
        for (f, &(slot, offset)) in self.slots.iter().enumerate() {
            let field = f as u16;
            match slot {
                Slot::Sparse { col } => out.push(Feat {
                    index: offset + b.sparse[r * ws + col],
                    field,
                    value: 1.0,
                }),
                Slot::Dense { col } => out.push(Feat {
                    index: offset,
                    field,
                    value: b.dense[r * wd + col],
                }),
                Slot::Sequence { col, len, pooling } => {
                    let ids = &b.sequences[r * wq + col..r * wq + col + len];
                    let m = ids.iter().filter(|&&i| i > 0).count();
                    let value = match pooling {
                        Pooling::Mean if m > 0 => 1.0 / m as f32,
                        _ => 1.0,
                    };
                    out.extend(ids.iter().filter(|&&i| i > 0).map(|&i| Feat {
                        index: offset + i,
                        field,
                        value,
                    }));
                }
            }
        }
    }
}

/// The bucket of the cross of feature `a` (field `fa`) with feature `b`
/// (field `fb`) among `buckets`: xxh3 of the four numbers (little endian)
/// under [`HASH_SEED`].
pub(crate) fn cross_bucket(fa: u16, a: u32, fb: u16, b: u32, buckets: usize) -> u32 {
    let mut key = [0u8; 12];
    key[0..2].copy_from_slice(&fa.to_le_bytes());
    key[2..4].copy_from_slice(&fb.to_le_bytes());
    key[4..8].copy_from_slice(&a.to_le_bytes());
    key[8..12].copy_from_slice(&b.to_le_bytes());
    (xxh3_64_with_seed(&key, HASH_SEED) % buckets as u64) as u32
}

/// The hashed crosses of a row's features from different fields, as
/// `(bucket, value_a · value_b)` into `out` (cleared first).
pub(crate) fn crosses(feats: &[Feat], buckets: usize, out: &mut Vec<(u32, f32)>) {
    out.clear();
    for (i, a) in feats.iter().enumerate() {
        for b in &feats[i + 1..] {
            if a.field != b.field {
                out.push((
                    cross_bucket(a.field, a.index, b.field, b.index, buckets),
                    a.value * b.value,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::FieldSchema;

    #[test]
    fn rows_become_global_features_by_field() {
        let schema = DatasetSchema {
            fields: vec![
                FieldSchema::sparse("u", 4).with_vocab(3),
                FieldSchema::dense("x", 4),
                FieldSchema::sequence("g", 3, Pooling::Mean, 4).with_vocab(5),
            ],
        };
        let l = Layout::new(&schema);
        assert_eq!(l.n_features, 3 + 1 + 5);
        let b = CtrBatch {
            sparse: vec![2, 0],
            sequences: vec![1, 4, 0, 0, 0, 0],
            dense: vec![0.5, 0.25],
            labels: vec![1.0, 0.0],
            len: 2,
        };
        let mut out = Vec::new();
        l.row(&b, 0, &mut out);
        let got: Vec<(u32, u16, f32)> = out.iter().map(|f| (f.index, f.field, f.value)).collect();
        assert_eq!(got, [(2, 0, 1.0), (3, 1, 0.5), (5, 2, 0.5), (8, 2, 0.5)]);
        l.row(&b, 1, &mut out);
        // OOV is its own feature; an empty sequence has none.
        let got: Vec<(u32, u16, f32)> = out.iter().map(|f| (f.index, f.field, f.value)).collect();
        assert_eq!(got, [(0, 0, 1.0), (3, 1, 0.25)]);
    }

    #[test]
    fn hashing_is_stable() {
        // Pinned: the same cross gives this bucket on every machine and
        // every version (xxh3, seed HASH_SEED).
        assert_eq!(cross_bucket(0, 7, 3, 1234, 1 << 20), PINNED_BUCKET);
        assert_eq!(
            cross_bucket(0, 7, 3, 1234, 1 << 20),
            cross_bucket(0, 7, 3, 1234, 1 << 20)
        );
        assert_ne!(
            cross_bucket(0, 7, 3, 1234, 1 << 20),
            cross_bucket(3, 1234, 0, 7, 1 << 20)
        );
    }

    const PINNED_BUCKET: u32 = 476_662;
}
