//! Dense `u32` indices for raw (string) ids.

use std::collections::HashMap;

/// A bijection between raw ids (as they appear in files) and dense indices
/// `0..len`.
///
/// Built with [`IdMap::from_raw`], indices follow the *natural* order of the
/// raw ids: numeric order when every id is an integer (MovieLens), otherwise
/// lexicographic. So "ties broken by item id ascending" is the same as ties
/// broken by index ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    raw: Vec<String>,
    index: HashMap<String, u32>,
}

impl IdMap {
    /// Builds a map from raw ids in any order; duplicates are merged.
    pub fn from_raw<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut raw: Vec<String> = ids.into_iter().map(|s| s.as_ref().to_string()).collect();
        raw.sort_unstable();
        raw.dedup();
        let order = Self::natural_order(&raw);
        let mut slots: Vec<Option<String>> = raw.into_iter().map(Some).collect();
        Self::from_ordered(
            order
                .iter()
                .map(|&k| slots[k as usize].take().expect("a permutation"))
                .collect(),
        )
    }

    /// The positions of distinct `ids` in natural order (see [`IdMap`]):
    /// numeric when every id is an integer, else lexicographic.
    pub(crate) fn natural_order(ids: &[String]) -> Vec<u32> {
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        let numeric: Option<Vec<i64>> = ids.iter().map(|s| s.parse::<i64>().ok()).collect();
        match numeric {
            Some(n) => order.sort_unstable_by(|&a, &b| {
                (n[a as usize], &ids[a as usize]).cmp(&(n[b as usize], &ids[b as usize]))
            }),
            None => order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize])),
        }
        order
    }

    /// Builds a map keeping the given order (index = position). Duplicates
    /// keep their first position.
    pub fn from_ordered(ids: Vec<String>) -> Self {
        let mut index = HashMap::with_capacity(ids.len());
        let mut raw = Vec::with_capacity(ids.len());
        for id in ids {
            if !index.contains_key(&id) {
                index.insert(id.clone(), raw.len() as u32);
                raw.push(id);
            }
        }
        IdMap { raw, index }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when there are no ids.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Index of a raw id.
    pub fn get(&self, raw: &str) -> Option<u32> {
        self.index.get(raw).copied()
    }

    /// Raw id of an index. Panics if out of range.
    pub fn raw(&self, idx: u32) -> &str {
        &self.raw[idx as usize]
    }

    /// All raw ids in index order.
    pub fn raw_ids(&self) -> &[String] {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_sort_numerically() {
        let m = IdMap::from_raw(["10", "2", "1", "2"]);
        assert_eq!(m.raw_ids(), &["1", "2", "10"]);
        assert_eq!(m.get("10"), Some(2));
        assert_eq!(m.raw(1), "2");
    }

    #[test]
    fn text_ids_sort_lexicographically() {
        let m = IdMap::from_raw(["b", "a10", "a2"]);
        assert_eq!(m.raw_ids(), &["a10", "a2", "b"]);
        assert_eq!(m.get("zz"), None);
    }
}
