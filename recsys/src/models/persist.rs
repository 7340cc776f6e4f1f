//! Saving and loading fitted models: one compact binary file per model.
//!
//! Layout: the 8 bytes `RECSYSM1`, a little-endian `u64` header length, a
//! JSON header (model kind, scalars, id maps, array names and lengths), then
//! each array as raw little-endian values in header order. Floats are
//! stored bit for bit, so a loaded model predicts exactly what the saved
//! one did. Files are written atomically (temporary file, then rename).

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::data::{IdMap, Interactions};
use crate::models::ctr::ShallowCtrModel;
use crate::models::mf::{EaseModel, FactorModel, SvdModel};
use crate::models::training::LearningCurve;
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"RECSYSM1";

/// One stored array.
enum Array {
    F32(Vec<f32>),
    U32(Vec<u32>),
    I64(Vec<i64>),
}

#[derive(Serialize, Deserialize)]
struct Header {
    kind: String,
    scalars: serde_json::Value,
    users: Vec<String>,
    items: Vec<String>,
    /// `(name, dtype, len)` in file order.
    arrays: Vec<(String, String, usize)>,
}

struct File {
    header: Header,
    arrays: Vec<Array>,
}

impl File {
    fn new(kind: &str, train: &Interactions, scalars: serde_json::Value) -> Self {
        let mut f = File {
            header: Header {
                kind: kind.into(),
                scalars,
                users: train.users().raw_ids().to_vec(),
                items: train.items().raw_ids().to_vec(),
                arrays: Vec::new(),
            },
            arrays: Vec::new(),
        };
        f.push("train.user", Array::U32(train.user_indices().to_vec()));
        f.push("train.item", Array::U32(train.item_indices().to_vec()));
        if let Some(r) = train.ratings() {
            f.push("train.rating", Array::F32(r.to_vec()));
        }
        if let Some(t) = train.timestamps() {
            f.push("train.timestamp", Array::I64(t.to_vec()));
        }
        f
    }

    /// A file without training interactions (models of feature rows).
    fn bare(kind: &str, scalars: serde_json::Value) -> Self {
        File {
            header: Header {
                kind: kind.into(),
                scalars,
                users: Vec::new(),
                items: Vec::new(),
                arrays: Vec::new(),
            },
            arrays: Vec::new(),
        }
    }

    fn u32(&mut self, name: &str) -> Result<Vec<u32>> {
        match self.take(name) {
            Some(Array::U32(v)) => Ok(v),
            _ => Err(Error::InvalidData(format!(
                "model file lacks the u32 array {name}"
            ))),
        }
    }

    fn push(&mut self, name: &str, a: Array) {
        let (dtype, len) = match &a {
            Array::F32(v) => ("f32", v.len()),
            Array::U32(v) => ("u32", v.len()),
            Array::I64(v) => ("i64", v.len()),
        };
        self.header.arrays.push((name.into(), dtype.into(), len));
        self.arrays.push(a);
    }

    fn write(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_bytes()?)
    }

    fn to_bytes(&self) -> Result<Vec<u8>> {
        let header = serde_json::to_vec(&self.header)?;
        let mut bytes = Vec::with_capacity(16 + header.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        for a in &self.arrays {
            match a {
                Array::F32(v) => v
                    .iter()
                    .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
                Array::U32(v) => v
                    .iter()
                    .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
                Array::I64(v) => v
                    .iter()
                    .for_each(|x| bytes.extend_from_slice(&x.to_le_bytes())),
            }
        }
        Ok(bytes)
    }

    fn read(path: &Path, kind: &str) -> Result<File> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path, kind)
    }

    /// Parses `bytes` (`path` names them in errors).
    fn from_bytes(bytes: &[u8], path: &Path, kind: &str) -> Result<File> {
        let bad = |why: &str| {
            Error::InvalidData(format!(
                "{}: not a recsys model file ({why})",
                path.display()
            ))
        };
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad("bad magic"));
        }
        let hlen = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        let body = usize::try_from(hlen)
            .ok()
            .and_then(|h| bytes.get(16..16usize.checked_add(h)?))
            .ok_or_else(|| bad("truncated header"))?;
        let header: Header = serde_json::from_slice(body)
            .map_err(|e| Error::InvalidData(format!("{}: model header: {e}", path.display())))?;
        if header.kind != kind {
            return Err(Error::InvalidData(format!(
                "{}: holds a {} model, not a {kind} model",
                path.display(),
                header.kind
            )));
        }
        let mut at = 16 + body.len();
        let mut arrays = Vec::new();
        for (name, dtype, len) in &header.arrays {
            let width = if dtype == "i64" { 8 } else { 4 };
            let end = len
                .checked_mul(width)
                .and_then(|n| n.checked_add(at))
                .filter(|&end| end <= bytes.len())
                .ok_or_else(|| bad(&format!("array {name} truncated")))?;
            let chunk = &bytes[at..end];
            at = end;
            arrays.push(match dtype.as_str() {
                "f32" => Array::F32(
                    chunk
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                        .collect(),
                ),
                "u32" => Array::U32(
                    chunk
                        .chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().expect("4")))
                        .collect(),
                ),
                "i64" => Array::I64(
                    chunk
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
                        .collect(),
                ),
                other => return Err(bad(&format!("unknown dtype {other}"))),
            });
        }
        Ok(File { header, arrays })
    }

    fn take(&mut self, name: &str) -> Option<Array> {
        let k = self.header.arrays.iter().position(|a| a.0 == name)?;
        self.header.arrays[k].0.clear();
        Some(std::mem::replace(
            &mut self.arrays[k],
            Array::U32(Vec::new()),
        ))
    }

    fn f32(&mut self, name: &str) -> Result<Vec<f32>> {
        match self.take(name) {
            Some(Array::F32(v)) => Ok(v),
            _ => Err(Error::InvalidData(format!(
                "model file lacks the f32 array {name}"
            ))),
        }
    }

    fn train(&mut self) -> Result<Interactions> {
        let users = Arc::new(IdMap::from_ordered(std::mem::take(&mut self.header.users)));
        let items = Arc::new(IdMap::from_ordered(std::mem::take(&mut self.header.items)));
        let (Some(Array::U32(u)), Some(Array::U32(i))) =
            (self.take("train.user"), self.take("train.item"))
        else {
            return Err(Error::InvalidData(
                "model file lacks its training interactions".into(),
            ));
        };
        let r = match self.take("train.rating") {
            Some(Array::F32(r)) => Some(r),
            _ => None,
        };
        let t = match self.take("train.timestamp") {
            Some(Array::I64(t)) => Some(t),
            _ => None,
        };
        Interactions::new(users, items, u, i, r, t)
    }

    /// An error unless array `name` has `len` values (`len` = None: the
    /// product overflowed).
    fn check_len(&self, name: &str, got: usize, len: Option<usize>) -> Result<()> {
        if Some(got) == len {
            Ok(())
        } else {
            Err(Error::InvalidData(format!(
                "model file ({} model): array {name} has {got} values, its shape says {}",
                self.header.kind,
                len.map_or("more than fit in memory".to_string(), |n| n.to_string())
            )))
        }
    }

    fn scalar<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T> {
        serde_json::from_value(self.header.scalars.get(key).cloned().unwrap_or_default())
            .map_err(|e| Error::InvalidData(format!("model file: scalar {key}: {e}")))
    }
}

/// Loads any model written by a `save` of this module (or
/// [`crate::models::Scorer::save_model`]) as a scorer, by the kind its
/// header names: factor models (ALS, BPR, two-tower), EASE, SVD.
pub fn load_scorer(path: impl AsRef<Path>) -> Result<Box<dyn crate::models::Scorer>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let kind = if bytes.len() >= 16 && &bytes[..8] == MAGIC {
        let hlen = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        usize::try_from(hlen)
            .ok()
            .and_then(|h| bytes.get(16..16usize.checked_add(h)?))
            .and_then(|b| serde_json::from_slice::<Header>(b).ok())
            .map(|h| h.kind)
    } else {
        None
    };
    match kind.as_deref() {
        Some("factors") => Ok(Box::new(FactorModel::load(path)?)),
        Some("ease") => Ok(Box::new(EaseModel::load(path)?)),
        Some("svd") => Ok(Box::new(SvdModel::load(path)?)),
        Some(other) => Err(Error::InvalidData(format!(
            "{}: holds a {other} model, which does not score users",
            path.display()
        ))),
        None => Err(Error::InvalidData(format!(
            "{}: not a recsys model file",
            path.display()
        ))),
    }
}

impl FactorModel {
    /// Saves the model (factors, biases, learning curve and training
    /// interactions) to `path`, atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut f = File::new(
            "factors",
            &self.train,
            serde_json::json!({ "factors": self.factors, "curve": self.curve }),
        );
        f.push("user", Array::F32(self.user.clone()));
        f.push("item", Array::F32(self.item.clone()));
        if let Some(b) = &self.item_bias {
            f.push("item_bias", Array::F32(b.clone()));
        }
        f.write(path.as_ref())
    }

    /// Loads a model written by [`FactorModel::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<FactorModel> {
        let mut f = File::read(path.as_ref(), "factors")?;
        let item_bias = f.f32("item_bias").ok();
        let m = FactorModel {
            factors: f.scalar("factors")?,
            curve: f.scalar::<LearningCurve>("curve")?,
            user: f.f32("user")?,
            item: f.f32("item")?,
            item_bias,
            train: f.train()?,
        };
        let (nu, ni, k) = (m.train.n_users(), m.train.n_items(), m.factors);
        f.check_len("user", m.user.len(), nu.checked_mul(k))?;
        f.check_len("item", m.item.len(), ni.checked_mul(k))?;
        if let Some(b) = &m.item_bias {
            f.check_len("item_bias", b.len(), Some(ni))?;
        }
        if k == 0 {
            return Err(Error::InvalidData("model file: 0 factors".into()));
        }
        Ok(m)
    }
}

impl EaseModel {
    /// Saves the model (weights and training interactions), atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut f = File::new(
            "ease",
            &self.train,
            serde_json::json!({ "lambda": self.lambda }),
        );
        f.push("weights", Array::F32(self.weights.clone()));
        f.write(path.as_ref())
    }

    /// Loads a model written by [`EaseModel::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<EaseModel> {
        let mut f = File::read(path.as_ref(), "ease")?;
        let m = EaseModel {
            lambda: f.scalar("lambda")?,
            weights: f.f32("weights")?,
            train: f.train()?,
        };
        let ni = m.train.n_items();
        f.check_len("weights", m.weights.len(), ni.checked_mul(ni))?;
        Ok(m)
    }
}

impl ShallowCtrModel {
    fn file(&self) -> File {
        let mut f = File::bare(
            "shallow_ctr",
            serde_json::json!({
                "params": self.params, "encoders": self.encoders, "curve": self.curve,
                "seconds": self.seconds, "n_params": self.theta.len(),
            }),
        );
        let lin_end = self.geo.lin_end();
        let (idx, val): (Vec<u32>, Vec<f32>) = self.theta[..lin_end]
            .iter()
            .enumerate()
            .filter(|(_, w)| **w != 0.0)
            .map(|(i, w)| (i as u32, *w))
            .unzip();
        f.push("linear.index", Array::U32(idx));
        f.push("linear.value", Array::F32(val));
        f.push("latent", Array::F32(self.theta[lin_end..].to_vec()));
        f
    }

    /// Saves the model with its hyper-parameters, learning curve and the
    /// feature encoders it was trained with (never refitted at load),
    /// atomically. Linear weights that are exactly zero (FTRL's L1) are
    /// not written: only the non-zero ones with their indices.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        self.file().write(path.as_ref())
    }

    /// The bytes [`ShallowCtrModel::save`] writes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.file().to_bytes()
    }

    /// Loads a model written by [`ShallowCtrModel::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<ShallowCtrModel> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(&bytes, path)
    }

    /// A model from [`ShallowCtrModel::to_bytes`] (`path` names it in errors).
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<ShallowCtrModel> {
        use crate::models::ctr::ShallowCtr;
        use crate::models::rows::FitRows;
        let mut f = File::from_bytes(bytes, path, "shallow_ctr")?;
        let params: ShallowCtr = f.scalar("params")?;
        params.check()?;
        let encoders: crate::features::FeatureEncoders = f.scalar("encoders")?;
        let n_params: usize = f.scalar("n_params")?;
        let (idx, val, latent) = (
            f.u32("linear.index")?,
            f.f32("linear.value")?,
            f.f32("latent")?,
        );
        // The shape the parameters and encoders imply must be the file's
        // (checked before anything of that size is allocated).
        let (expected, lin) =
            ShallowCtrModel::expected_size(&params, &encoders).unwrap_or((usize::MAX, 0));
        f.check_len("theta", n_params, Some(expected))?;
        f.check_len("latent", latent.len(), expected.checked_sub(lin))?;
        let mut m =
            ShallowCtrModel::assemble(params, encoders, f.scalar("curve")?, f.scalar("seconds")?)?;
        f.check_len("theta", n_params, Some(m.theta.len()))?;
        let lin_end = m.geo.lin_end();
        f.check_len("linear.value", val.len(), Some(idx.len()))?;
        f.check_len("latent", latent.len(), Some(n_params - lin_end))?;
        for (&i, &v) in idx.iter().zip(&val) {
            let slot = m.theta[..lin_end].get_mut(i as usize).ok_or_else(|| {
                Error::InvalidData(format!(
                    "model file ({}): weight index {i} out of range",
                    FitRows::name(&m.params)
                ))
            })?;
            *slot = v;
        }
        m.theta[lin_end..].copy_from_slice(&latent);
        if m.theta.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidData(
                "model file (shallow_ctr): a parameter is not finite".into(),
            ));
        }
        Ok(m)
    }
}

impl SvdModel {
    /// Saves the model (biases, factors and training interactions),
    /// atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let mut f = File::new(
            "svd",
            &self.train,
            serde_json::json!({
                "factors": self.factors, "mean": self.mean, "clip": self.clip,
                "plus_plus": self.plus_plus, "history": self.history,
            }),
        );
        f.push("user_bias", Array::F32(self.user_bias.clone()));
        f.push("item_bias", Array::F32(self.item_bias.clone()));
        f.push("user", Array::F32(self.user.clone()));
        f.push("item", Array::F32(self.item.clone()));
        f.write(path.as_ref())
    }

    /// Loads a model written by [`SvdModel::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<SvdModel> {
        let mut f = File::read(path.as_ref(), "svd")?;
        let m = SvdModel {
            factors: f.scalar("factors")?,
            mean: f.scalar("mean")?,
            clip: f.scalar("clip")?,
            plus_plus: f.scalar("plus_plus")?,
            history: f.scalar("history")?,
            user_bias: f.f32("user_bias")?,
            item_bias: f.f32("item_bias")?,
            user: f.f32("user")?,
            item: f.f32("item")?,
            train: f.train()?,
        };
        let (nu, ni, k) = (m.train.n_users(), m.train.n_items(), m.factors);
        if !(m.clip.0 <= m.clip.1) || !m.mean.is_finite() {
            return Err(Error::InvalidData(format!(
                "model file (svd model): rating range {:?} or mean {} is not a range of numbers",
                m.clip, m.mean
            )));
        }
        f.check_len("user_bias", m.user_bias.len(), Some(nu))?;
        f.check_len("item_bias", m.item_bias.len(), Some(ni))?;
        f.check_len("user", m.user.len(), nu.checked_mul(k))?;
        f.check_len("item", m.item.len(), ni.checked_mul(k))?;
        Ok(m)
    }
}
